"""A run started from an imported weight file: every framework starts from the same weights (the
same first loss), the results and the report record the file's checksum and each layer's source,
and ``--save-weights`` + ``harness weights export`` hand one framework's trained weights to the next run."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from harness.plugins import discover
from harness.spec import load_network
from harness.neutral.weight_file import file_sha256, read_weight_file, write_weight_file
from harness.neutral.weights import initial_weights
from plugin_support import run_harness

ROOT = Path(__file__).resolve().parents[1]
DISCOVERY = discover()
PAIR = [name for name in ("torch", "keras") if name in DISCOVERY.frameworks
        and DISCOVERY.frameworks[name].unavailable_reason() is None]
SMALL = ["--dataset", "synthetic", "--limit-train", "64", "--limit-test", "32", "--epochs", "1", "--batch-size", "16",
         "--threads", "1", "--no-parity", "--quiet"]


@pytest.mark.slow
@pytest.mark.skipif(len(PAIR) < 2, reason=f"needs torch and keras, found {PAIR}: not installed")
def test_a_run_from_a_weight_file_records_its_checksum_and_layer_sources(tmp_path: Path) -> None:
    network = load_network(ROOT / "specs" / "lenet.yaml")
    backbone = {name: tensors for name, tensors in initial_weights(network, seed=5).items() if name.startswith("conv")}
    digest = write_weight_file(tmp_path / "backbone.npz", backbone)
    spec = tmp_path / "lenet.yaml"
    spec.write_text((ROOT / "specs" / "lenet.yaml").read_text().replace(
        "  seed: 0\n", f"  seed: 0\n  init: {{weights: backbone.npz, sha256: {digest}, others: shared}}\n"))
    out = tmp_path / "run"
    result = run_harness(["run", str(spec), "--framework", ",".join(PAIR), "--out", str(out), "--save-weights", *SMALL],
                         dict(os.environ), timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    jobs = json.loads((out / "results.json").read_text())["jobs"]
    for job in jobs:
        sources = job["weight_sources"]
        assert sources["sha256"] == digest and sources["file"] == str((tmp_path / "backbone.npz").resolve())
        assert sources["from_file"] == ["conv_1", "conv_2"] and sources["others"] == "shared"
        assert sources["from_others"] == ["head_dense_1", "head_dense_2", "logits"]
        assert job["config"]["init"]["sha256"] == digest
    assert jobs[0]["first_step_losses"][0] == pytest.approx(jobs[1]["first_step_losses"][0], abs=1e-5)
    report = " ".join((out / "report.md").read_text().split())
    assert f"backbone.npz (sha256 {digest}) for 2 layers, and shared initialisation for head_dense_1, head_dense_2, logits" \
        in report

    exported = tmp_path / "torch-trained.npz"
    result = run_harness(["weights", "export", str(out), "--spec", str(spec), "--framework", "torch", "-o", str(exported)],
                         dict(os.environ))
    assert result.returncode == 0, result.stdout + result.stderr
    saved = next(job["saved_weights"] for job in jobs if job["framework"] == "torch")
    assert file_sha256(exported) == saved["sha256"] == file_sha256(Path(saved["file"]))
    trained, _ = read_weight_file(exported, network)
    assert not np.array_equal(trained["conv_1"]["kernel"], backbone["conv_1"]["kernel"])  # it trained
    assert file_sha256(exported) in result.stdout
