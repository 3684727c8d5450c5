"""Every shipped spec and variant, built in PyTorch: counts, shapes, outputs, weights and a step."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

from harness.equivalence import reference
from harness.neutral.oracle import Analysis, analyse, check_expect
from harness.testing.specs import input_sizes, random_batch, shipped_spec_cases, shipped_spec_files, skip_architecture_twin
from harness.neutral.weights import check_complete, initial_weights
from harness_torch.framework import TorchFramework
from harness_torch.layers import NeutralNet

SPEC_DIR = Path(__file__).resolve().parents[3] / "specs"
BATCH = 2
TOLERANCE = 1e-4
"""float32 against the float64 reference, relative to the layer's largest output (at least 1)."""


@pytest.fixture(scope="module", params=shipped_spec_cases(SPEC_DIR))
def model(request: pytest.FixtureRequest, framework: TorchFramework) -> NeutralNet:
    """One spec network, built once for all the tests of this module."""
    return framework.build(request.param.load())


def test_there_are_specs_to_test() -> None:
    assert shipped_spec_files(SPEC_DIR), "no specs/*.yaml found"


def test_parameters_per_layer_equal_the_oracle_and_the_published_figures(framework: TorchFramework, model: NeutralNet) -> None:
    network = model.network
    counts = framework.count_params(model)
    oracle = analyse(network)
    assert list(counts) == [layer.name for layer in oracle.layers]
    for layer in oracle.layers:
        got = counts[layer.name]
        assert (got.trainable, got.non_trainable) == (layer.trainable, layer.non_trainable), f"{network.key}: {layer.name}"
    counted = Analysis(oracle.key, oracle.input_shape, tuple(
        dataclasses.replace(layer, trainable=counts[layer.name].trainable, non_trainable=counts[layer.name].non_trainable)
        for layer in oracle.layers
    ))
    assert not [check for check in check_expect(counted, network.spec.expect) if not check.ok]


def test_layer_outputs_have_the_oracle_shapes_and_the_reference_values(framework: TorchFramework, model: NeutralNet) -> None:
    network = model.network
    skip_architecture_twin(network)
    weights = initial_weights(network, seed=1)
    framework.load_weights(model, weights)
    for size in input_sizes(network):
        oracle = analyse(network, size)
        images = random_batch(network, BATCH, size)
        outputs = framework.layer_outputs(model, images)
        assert list(outputs) == [layer.name for layer in oracle.layers]
        for layer in oracle.layers:
            assert outputs[layer.name].shape == (BATCH, *layer.output_shape), f"{network.key} at {size}: {layer.name}"
        expected = reference.layer_outputs(network, weights, images)
        for name, value in expected.items():
            scale = max(1.0, float(np.abs(value).max()))
            np.testing.assert_allclose(outputs[name], value, rtol=0, atol=TOLERANCE * scale, err_msg=f"{network.key}: {name}")
        logits = framework.predict(model, images)
        np.testing.assert_allclose(logits, list(expected.values())[-1], rtol=0, atol=TOLERANCE)


def test_neutral_weights_round_trip_exactly(framework: TorchFramework, model: NeutralNet) -> None:
    network = model.network
    weights = initial_weights(network, seed=2)
    framework.load_weights(model, weights)
    exported = framework.export_weights(model)
    check_complete(network, exported)
    for layer, tensors in weights.items():
        for name, array in tensors.items():
            assert exported[layer][name].dtype == np.float32
            np.testing.assert_array_equal(exported[layer][name], array, err_msg=f"{layer}/{name}")


def test_one_training_step_gives_a_finite_loss(framework: TorchFramework, model: NeutralNet) -> None:
    network = model.network
    skip_architecture_twin(network)
    images = random_batch(network, BATCH, input_sizes(network)[0], seed=3)
    labels = np.arange(BATCH, dtype=np.int64) % network.spec.classes
    before = framework.export_weights(model)
    result = framework.train_step(framework.prepare_training(model, network.spec.train), images, labels)
    assert math.isfinite(result.loss) and result.loss > 0
    assert 0 <= result.correct <= BATCH
    after = framework.export_weights(model)
    assert any(not np.array_equal(after[layer][name], before[layer][name]) for layer in before for name in before[layer])
