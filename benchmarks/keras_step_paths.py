"""Where a Keras step's time goes between ``fit`` and the harness's way of training, per backend.

The harness's Keras plugin trains with the framework's op determinism on, through its own steps: on
PyTorch an eager step without Keras' metrics (``harness_keras.torch_step``), on JAX a jitted
stateless step (``harness_keras.jax_step``); until 2026-12-06 both called ``train_on_batch`` once a
batch, the loss and an accuracy metric read back each step. ``benchmarks/native/keras_native.py``
trains through ``fit``. This script times the steps between,
one change at a time, on LeNet (E3a) and the same images, each variant in a fresh process with one
thread, the variants interleaved round after round (a busy minute hits all alike):

- ``fit``: ``fit`` as Keras users write it, no metric (the native anchor);
- ``fit+accuracy``: ``fit`` with ``metrics=["accuracy"]``;
- ``train_on_batch``: a loop of ``train_on_batch`` over the same shuffled batches, no metric;
- ``train_on_batch+accuracy``: with the metric, its values read back each step (the harness's call);
- ``...+determinism``: that, with the backend's op determinism on (``torch.use_deterministic_algorithms``;
  TensorFlow's ``enable_op_determinism``), as the plugin sets it;
- ``plugin-network``: the harness's own LeNet (``harness_keras.build``, from ``specs/lenet.yaml``)
  compiled and trained as ``train_on_batch+accuracy`` is;
- ``plugin-trainer``: that network with the plugin's trainer (``harness_keras.train.make_trainer``);
- ``plugin``: the plugin as a job uses it (its runtime settings, build and ``train_step``), in this
  loop instead of the harness's.

    KERAS_BACKEND=torch python benchmarks/keras_step_paths.py --rounds 5
    python benchmarks/keras_step_paths.py --backend jax --rounds 5

Prints each variant's median step (ms, second epoch; the first is the warm-up) per round and the
median over rounds of its ratio to ``fit``. Only the ``plugin`` variants import the harness.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

VARIANTS = ("fit", "fit+accuracy", "train_on_batch", "train_on_batch+accuracy", "train_on_batch+accuracy+determinism",
            "plugin-network", "plugin-trainer", "plugin")
SPEC = Path(__file__).resolve().parents[1] / "specs" / "lenet.yaml"


def plugin_step(variant: str) -> Callable[[Any, Any], object]:
    """The harness's LeNet and one training step on a batch, as ``variant`` (``plugin...``) says."""
    from harness.spec import load_network

    network = load_network(SPEC, None)
    if variant == "plugin":
        from harness.plugins import framework_class

        framework = framework_class("keras" if os.environ["KERAS_BACKEND"] == "tensorflow"
                                    else f"keras-{os.environ['KERAS_BACKEND']}")(device="cpu", threads=1, seed=0)
        model = framework.build(network)
        trainer = framework.prepare_training(model, network.spec.train)
        return lambda images, labels: (framework.train_step(trainer, images, labels), framework.synchronize())
    import keras
    from harness_keras.build import build_model
    from harness_keras.train import make_trainer

    keras.utils.set_random_seed(0)
    built = build_model(network)
    if variant == "plugin-trainer":
        return make_trainer(built, network.spec.train).run
    return compiled_step(built.model, with_accuracy=True)


def compile_as_native(model: Any, with_accuracy: bool) -> Any:
    """``model`` compiled as ``keras_native.py`` compiles LeNet (with ``--accuracy`` when ``with_accuracy``)."""
    import keras

    model.compile(optimizer=keras.optimizers.Adam(0.001, epsilon=1e-8),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"] if with_accuracy else None, jit_compile="auto")
    return model


def compiled_step(model: Any, with_accuracy: bool) -> Callable[[Any, Any], object]:
    """``model`` compiled as the native script compiles it; its ``train_on_batch``, values read back."""
    compile_as_native(model, with_accuracy)

    def step(images: Any, labels: Any) -> tuple[float, float]:
        logs = model.train_on_batch(images, labels, return_dict=True)
        return float(logs["loss"]), float(logs.get("accuracy", 0.0))

    return step


def timed_variant(variant: str, data: str, epochs: int, batch_size: int) -> list[float]:
    """In this process: ``epochs`` epochs of ``variant``; each epoch's median step (ms)."""
    import keras
    import numpy as np

    sys.path.insert(0, str(Path(__file__).resolve().parent / "native"))
    from keras_native import StepTimes, lenet

    if variant.endswith("+determinism"):
        if keras.backend.backend() == "torch":
            import torch

            torch.use_deterministic_algorithms(True)
        elif keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(0)
    arrays = np.load(data)
    images, labels = arrays["images"], arrays["labels"].astype(np.int64)
    medians = []
    if variant.startswith("fit"):
        model = compile_as_native(lenet(), "accuracy" in variant)
        timer = StepTimes()
        for _ in range(epochs):
            model.fit(images, labels, batch_size=batch_size, epochs=1, shuffle=True, verbose=0, callbacks=[timer])
            medians.append(1000 * statistics.median(timer.steps[1:] or timer.steps))
        return medians
    step = plugin_step(variant) if variant.startswith("plugin") else compiled_step(lenet(), "accuracy" in variant)
    rng = np.random.default_rng(0)
    for _ in range(epochs):
        order, steps = rng.permutation(len(images)), []
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            tick = time.perf_counter()
            step(images[batch], labels[batch])
            steps.append(time.perf_counter() - tick)
        medians.append(1000 * statistics.median(steps))
    return medians


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", default=os.environ.get("KERAS_BACKEND", "torch"), choices=["torch", "jax", "tensorflow"])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--variants", default=",".join(VARIANTS), help="the variants to time, separated by commas (fit first)")
    parser.add_argument("--limit-train", type=int, default=3200)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--variant", choices=VARIANTS, help=argparse.SUPPRESS)  # the timed child
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:
        print(json.dumps(timed_variant(args.variant, args.data, 2, args.batch_size)))
        return 0
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from native_overhead import native_environment  # puts benchmarks/native on the path

    from data import write_images

    env = native_environment(1, {"KERAS_BACKEND": args.backend}, xla=args.backend == "jax")
    chosen = tuple(args.variants.split(","))
    if chosen[0] != "fit" or not set(chosen) <= set(VARIANTS):
        parser.error(f"--variants: 'fit' first, then any of {', '.join(VARIANTS[1:])}")
    steps: dict[str, list[float]] = {variant: [] for variant in chosen}
    with tempfile.TemporaryDirectory(prefix="keras-step-paths-") as folder:
        data = str(Path(folder, "images.npz"))
        dataset = write_images(Path(data), None, args.limit_train)
        print(f"LeNet, {args.limit_train} {dataset} images, batch {args.batch_size}, Keras on {args.backend}, one thread, "
              f"{args.rounds} interleaved rounds")
        for round_number in range(args.rounds):
            order = chosen if round_number % 2 == 0 else chosen[::-1]
            for variant in order:
                command = [sys.executable, __file__, "--variant", variant, "--data", data, "--batch-size", str(args.batch_size)]
                completed = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
                steps[variant].append(json.loads(completed.stdout.strip().splitlines()[-1])[-1])
            print(f"  round {round_number + 1}: " + ", ".join(f"{variant} {steps[variant][-1]:.2f}" for variant in chosen)
                  + f" ms (load {os.getloadavg()[0]:.1f})", flush=True)
    print(f"\n{'variant':<38} {'median ms':>9}  / fit (median over rounds)")
    for variant in chosen:
        ratios = [mine / base for mine, base in zip(steps[variant], steps["fit"])]
        print(f"{variant:<38} {statistics.median(steps[variant]):>9.2f}  {statistics.median(ratios):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
