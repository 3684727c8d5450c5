"""``train.freeze: backbone``: counted as non-trainable by the oracle and by every framework (that
training leaves it untouched, batch-norm statistics included, is checked by the conformance kit's
``test_frozen_backbone`` in every framework, and by the numpy training reference here)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from harness.neutral.oracle import analyse
from harness.plugins import discover
from harness.equivalence.reference_train import ReferenceTrainer
from harness.spec import load_network
from harness.spec.network import frozen_layers
from harness.neutral.weights import initial_weights
from plugin_support import run_harness

SPEC = """
name: frozen_small
input: [12, 12, 1]
classes: 4
title: A small network whose backbone is frozen
source: tests/test_freeze.py
backbone:
  - {type: conv, filters: 4, kernel: 3, padding: same, activation: relu}
  - {type: batch_norm, momentum: 0.5}
  - {type: depthwise_conv, kernel: 3, stride: 2, padding: same}
  - {type: max_pool, pool: 2}
head: {type: flatten, hidden: [8]}
train: {optimizer: {name: adam, lr: 0.01}, freeze: backbone}
dataset: {name: synthetic}
"""

DISCOVERY = discover()
AVAILABLE = [name for name, registered in DISCOVERY.frameworks.items() if registered.unavailable_reason() is None]


@pytest.fixture(scope="module")
def spec_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("freeze") / "frozen.yaml"
    path.write_text(SPEC)
    return path


def test_oracle_counts_a_frozen_backbone_as_non_trainable(spec_file: Path) -> None:
    network = load_network(spec_file)
    analysis = analyse(network)
    backbone = analysis.backbone_params()
    assert backbone["trainable"] == 0 and backbone["non_trainable"] == backbone["total"] == 40 + 16 + 40
    assert analysis.params()["trainable"] == analysis.total - backbone["total"]
    assert frozen_layers(network) == {"conv_1", "batch_norm_1", "depthwise_conv_1", "max_pool_1"}


@pytest.mark.slow
@pytest.mark.skipif(len(AVAILABLE) < 2, reason=f"needs two installed frameworks, found {AVAILABLE}: not installed")
def test_params_with_a_frozen_backbone_agree_in_every_framework_and_with_the_oracle(spec_file: Path) -> None:
    result = run_harness(["params", str(spec_file), "--framework", ",".join(AVAILABLE), "--threads", "1", "--json"],
                         dict(os.environ))
    assert result.returncode == 0, result.stdout + result.stderr
    (record,) = json.loads(result.stdout)
    oracle = analyse(load_network(spec_file)).params()
    for name in AVAILABLE:
        assert record["frameworks"][name]["params"] == oracle, name


def test_the_training_reference_leaves_a_frozen_backbone_and_its_statistics_untouched(spec_file: Path) -> None:
    network = load_network(spec_file)
    start = initial_weights(network, seed=3)
    trainer = ReferenceTrainer(network, start, network.spec.train.optimizer)
    rng = np.random.default_rng(0)
    for _ in range(2):
        trainer.step(rng.random((8, 12, 12, 1)), rng.integers(0, 4, 8))
    trained = trainer.export()
    for layer in frozen_layers(network) & set(start):
        for tensor, array in start[layer].items():
            np.testing.assert_array_equal(trained[layer][tensor], array, err_msg=f"{layer}/{tensor}")
    assert not np.array_equal(trained["logits"]["kernel"], start["logits"]["kernel"])
