#!/usr/bin/env bash
# Re-run every committed report exactly as it was made (2 CPU cores, no GPU), from a clean commit.
# MNIST's training set cannot be fetched on the machine these ran on, so Fashion-MNIST stands in
# (explicitly, with --dataset; each report says so). The main report and E2 run at full length (all
# 60,000 training images, the spec's epochs); the 224x224 specs (E1, E4), E5 and the two
# initialisation companions train on a stated slice for fewer epochs than their spec (each report
# says so at the top). Pass a report name to regenerate only that report. They were last run as two
# streams side by side on 2 cores, each one job at a time: E3 then E1; E2, the two slice companions,
# then E4; and E5 alone after both (its step-time findings need a quiet machine).
set -euo pipefail
cd "$(dirname "$0")/.."
only="${1:-}"
common=(--dataset fashion-mnist --quiet)
python="${PYTHON:-python3}"

run() {  # run NAME ARGS...: one report folder
  local name="$1"; shift
  if [ -z "$only" ] || [ "$only" = "$name" ]; then
    rm -rf "reports/$name"
    "$python" -m harness run "$@" "${common[@]}" --out "reports/$name"
  fi
}

# E3a vs E3b, the main job, at full length: 10 epochs of all 60,000 training images, 3 seeds, in the
# four frameworks the issue names (Keras on TensorFlow, PyTorch, Paddle, JAX), one thread, one job at
# a time (about 90 minutes on 2 cores).
run lenet_vs_stride2 specs/lenet.yaml specs/lenet_stride2.yaml --framework keras,torch,paddle,jax --seeds 0,1,2 --threads 1 --init framework
# E4: Flatten vs GAP on a toy CNN at 224x224x3 (a slice: 128 images, 1 epoch).
run toy_cnn_224 specs/toy_cnn_224.yaml --framework all --limit-train 128 --limit-test 64 --epochs 1 --batch-size 16 --warmup-steps 2 --timeout 400 --threads 1
# E1: MobileNetV2 backbone with a GAP or a Flatten head at 224x224x3 (a slice; the imagenet_* variants
# need their weight file, see specs/mobilenetv2_heads.yaml).
run mobilenetv2_heads specs/mobilenetv2_heads.yaml --variant gap --variant flatten --variant flatten_lr0_01 --framework all --limit-train 128 --limit-test 64 --epochs 1 --batch-size 16 --timeout 400 --threads 1

# E2a/b/c at full length (10 epochs, 60,000 images) for its "not converged in 10 epochs" claims: one
# seed in three frameworks (each (framework, seed) one replicate of the pooled verdict); Paddle's
# size-agnostic head alone would take over an hour here.
run mnist_heads specs/mnist_heads.yaml --framework keras,torch,jax --threads 1
# The main comparison at a slice (10,000 images, 3 epochs) in every framework, twice: each framework's
# own initialisers (the specs' train.init), and every framework from the same neutral weights. Side
# by side they show whether a framework's accuracy gap is its initialiser.
run lenet_vs_stride2_slice specs/lenet.yaml specs/lenet_stride2.yaml --framework all --seeds 0,1,2 --limit-train 10000 --epochs 3 --threads 1 --init framework
run lenet_vs_stride2_shared_init specs/lenet.yaml specs/lenet_stride2.yaml --framework all --seeds 0,1,2 --limit-train 10000 --epochs 3 --threads 1 --init shared
# E5a-f: dropout and dense layers removed, conv-as-FC (a slice; its timing claims need no more).
run mnist_dropout_heads specs/mnist_dropout_heads.yaml --framework all --limit-train 5000 --limit-test 2000 --epochs 2 --timeout 600 --threads 1

# The index of every published finding over the committed reports, written into reports/README.md.
"$python" -m harness.report.findings_index --readme reports/README.md reports/*/results.json
