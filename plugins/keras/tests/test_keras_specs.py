"""Every shipped spec and variant, built in Keras: counts, shapes, outputs, weights and a step."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from harness.equivalence import reference
from harness.neutral.oracle import analyse
from harness.equivalence.parity import DEFAULT_TOLERANCE, diff
from harness.testing.specs import input_sizes, random_batch, shipped_spec_cases, skip_architecture_twin
from harness.neutral.weights import initial_weights
from harness_keras.build import KerasNetwork
from harness_keras.framework import KerasFramework
from harness_keras.runtime import keras

SPEC_DIR = Path(__file__).resolve().parents[3] / "specs"
BATCH = 2
# One pytest-xdist worker runs the whole module (make test: --dist loadgroup), so each network is
# built once (the module-scoped fixture below), not once per worker: MobileNetV2 takes a second.
pytestmark = pytest.mark.xdist_group("keras_specs")


@pytest.fixture(scope="module", params=shipped_spec_cases(SPEC_DIR))
def built(request: pytest.FixtureRequest, framework: KerasFramework) -> Iterator[KerasNetwork]:
    """One spec network, built once for all the tests of this module."""
    built = framework.build(request.param.load())
    yield built
    keras.backend.clear_session()


def test_parameters_per_layer_equal_the_oracle(framework: KerasFramework, built: KerasNetwork) -> None:
    counts = framework.count_params(built)
    oracle = analyse(built.network)
    assert list(counts) == [layer.name for layer in oracle.layers]
    for layer in oracle.layers:
        assert (counts[layer.name].trainable, counts[layer.name].non_trainable) == (layer.trainable, layer.non_trainable), layer.name


def test_totals_equal_the_published_figures(framework: KerasFramework, built: KerasNetwork) -> None:
    expect = built.network.spec.expect
    if expect is None or (expect.params is None and expect.backbone is None):
        pytest.skip(f"{built.network.key} publishes no parameter count")
    counts = framework.count_params(built)
    backbone = {layer.name for layer in analyse(built.network).layers if layer.part == "backbone"}
    for published, names in ((expect.params, set(counts)), (expect.backbone, backbone)):
        if published is None:
            continue
        trainable = sum(counts[name].trainable for name in names)
        non_trainable = sum(counts[name].non_trainable for name in names)
        actual = {"trainable": trainable, "non_trainable": non_trainable, "total": trainable + non_trainable}
        for field, value in published.model_dump().items():
            if value is not None:
                assert actual[field] == value, f"{built.network.key}: {field}"


def test_keras_model_total_equals_the_sum_of_the_neutral_layers(framework: KerasFramework, built: KerasNetwork) -> None:
    assert built.model.count_params() == sum(count.total for count in framework.count_params(built).values())


def test_outputs_have_the_oracles_shapes_and_the_references_values(framework: KerasFramework, built: KerasNetwork) -> None:
    network = built.network
    skip_architecture_twin(network)
    weights = initial_weights(network, seed=3)
    framework.load_weights(built, weights)
    for size in input_sizes(network):
        images = random_batch(network, BATCH, size)
        outputs = framework.layer_outputs(built, images)
        expected = reference.layer_outputs(network, weights, images)
        assert list(outputs) == list(expected)
        for layer in analyse(network, size).layers:
            assert outputs[layer.name].shape == (BATCH, *layer.output_shape), layer.name
            result = diff(layer.name, outputs[layer.name], expected[layer.name], DEFAULT_TOLERANCE)
            assert not result.diverged, f"{layer.name} at {size}: max abs diff {result.max_abs:.3g} (scale {result.scale:.3g})"
        logits = diff("predict", framework.predict(built, images), expected[network.nodes[-1].name], DEFAULT_TOLERANCE, scale=1.0)
        assert not logits.diverged, f"predict at {size}: max abs diff {logits.max_abs:.3g}"


def test_weights_round_trip_exactly(framework: KerasFramework, built: KerasNetwork) -> None:
    weights = initial_weights(built.network, seed=5)
    framework.load_weights(built, weights)
    exported = framework.export_weights(built)
    assert {layer: set(tensors) for layer, tensors in exported.items()} == {layer: set(tensors) for layer, tensors in weights.items()}
    for layer, tensors in weights.items():
        for name, array in tensors.items():
            assert exported[layer][name].dtype == np.float32
            np.testing.assert_array_equal(exported[layer][name], array, err_msg=f"{layer}/{name}")


def test_one_training_step_gives_a_finite_loss(framework: KerasFramework, built: KerasNetwork) -> None:
    network = built.network
    skip_architecture_twin(network)
    trainer = framework.prepare_training(built, network.spec.train)
    labels = np.arange(BATCH, dtype=np.int64) % network.spec.classes
    for size in input_sizes(network):
        result = framework.train_step(trainer, random_batch(network, BATCH, size, seed=1), labels)
        assert math.isfinite(result.loss) and result.loss > 0
        assert isinstance(result.correct, int) and 0 <= result.correct <= BATCH


def test_effective_settings_hold_the_specs_values(framework: KerasFramework, built: KerasNetwork) -> None:
    settings = framework.effective_settings(built, built.network)
    optimizer = settings.groups["optimizer"]
    for name, setting in optimizer.items():
        if name != "class":
            assert setting.value == pytest.approx(setting.neutral, rel=1e-6), name
    for traced in built.network.trace:
        layer = traced.node.layer
        if layer.type == "batch_norm":
            group = settings.groups[traced.node.name]
            assert group["momentum"].value == pytest.approx(layer.momentum, rel=1e-6)
            assert group["epsilon"].value == pytest.approx(layer.epsilon, rel=1e-6)
        if layer.type == "dropout":
            assert settings.groups[traced.node.name]["rate"].value == pytest.approx(layer.rate)
