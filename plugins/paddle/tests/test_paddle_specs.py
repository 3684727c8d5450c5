"""Every shipped spec and variant, built in Paddle: counts, shapes, outputs, weights and a step."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from paddle_helpers import SEED, parity_with_reference, random_images

from harness.neutral.oracle import analyse
from harness.spec import Network
from harness.testing.specs import input_sizes, shipped_spec_cases, shipped_spec_files, skip_architecture_twin
from harness.neutral.weights import initial_weights
from harness_paddle.framework import PaddleFramework
from harness_paddle.build import PaddleNetwork

SPEC_DIR = Path(__file__).resolve().parents[3] / "specs"
BATCH = 2
HEAVY_PIXELS = 100 * 100
"""Above this many input pixels (MobileNetV2's 224x224) a batch holds one image."""


@pytest.fixture(scope="module", params=shipped_spec_cases(SPEC_DIR))
def model(request: pytest.FixtureRequest, framework: PaddleFramework) -> PaddleNetwork:
    """One spec network, built once for all the tests of this module."""
    return framework.build(request.param.load())


def _batch(network: Network, size: tuple[int, int] | None) -> int:
    height, width, _ = network.input_shape if size is None else (*size, 0)
    return 1 if height * width > HEAVY_PIXELS else BATCH


def test_there_are_specs_to_test() -> None:
    assert shipped_spec_files(SPEC_DIR), "no specs/*.yaml found"


def test_parameters_per_layer_equal_the_oracle_and_the_published_figures(framework: PaddleFramework, model: PaddleNetwork) -> None:
    network = model.network
    counts = framework.count_params(model)
    oracle = analyse(network)
    assert list(counts) == [layer.name for layer in oracle.layers]
    for layer in oracle.layers:
        assert (counts[layer.name].trainable, counts[layer.name].non_trainable) == (layer.trainable, layer.non_trainable), layer.name
    totals = {
        "trainable": sum(c.trainable for c in counts.values()),
        "non_trainable": sum(c.non_trainable for c in counts.values()),
        "total": sum(c.total for c in counts.values()),
    }
    published = network.spec.expect.params if network.spec.expect else None
    for field, value in (published.model_dump() if published else {}).items():
        if value is not None:
            assert totals[field] == value, f"{network.key}: {field} {totals[field]} != published {value}"


def test_layer_outputs_match_the_reference_in_shape_and_value(framework: PaddleFramework, model: PaddleNetwork) -> None:
    network = model.network
    skip_architecture_twin(network)
    for size in input_sizes(network):
        images = random_images(network, _batch(network, size), size)
        outputs = framework.layer_outputs(model, images)
        shapes = {name: array.shape for name, array in outputs.items()}
        assert shapes == {layer.name: (len(images), *layer.output_shape) for layer in analyse(network, size).layers}
        assert parity_with_reference(framework, model, network, images) is None, f"{network.key} at {size}"


def test_weights_round_trip_exactly(framework: PaddleFramework, model: PaddleNetwork) -> None:
    weights = initial_weights(model.network, SEED + 1)
    framework.load_weights(model, weights)
    exported = framework.export_weights(model)
    assert exported.keys() == weights.keys()
    for layer, tensors in weights.items():
        assert exported[layer].keys() == tensors.keys(), layer
        for name, array in tensors.items():
            assert exported[layer][name].shape == array.shape, f"{layer}/{name}"
            assert np.array_equal(exported[layer][name], array), f"{layer}/{name}"


def test_one_training_step_gives_a_finite_loss(framework: PaddleFramework, model: PaddleNetwork) -> None:
    network = model.network
    skip_architecture_twin(network)
    size = input_sizes(network)[0]
    images = random_images(network, _batch(network, size), size)
    labels = np.arange(len(images), dtype=np.int64) % network.spec.classes
    trainer = framework.prepare_training(model, network.spec.train)
    result = framework.train_step(trainer, images, labels)
    assert math.isfinite(result.loss) and result.loss > 0
    assert 0 <= result.correct <= len(images)
