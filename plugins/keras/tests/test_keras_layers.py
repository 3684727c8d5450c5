"""Every layer type, activation and head, built in Keras from inline networks: parameter counts
per layer against the oracle, and every layer's output against the numpy reference."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from harness.equivalence import reference
from harness.neutral.oracle import analyse
from harness.equivalence.parity import DEFAULT_TOLERANCE, diff
from harness.spec import Network
from harness.neutral.weights import initial_weights
from harness_keras.framework import KerasFramework

EVERY_LAYER: list[dict[str, Any]] = [
    {"type": "conv", "filters": 6, "kernel": 3, "stride": 2, "padding": "same", "activation": "sigmoid"},
    {"type": "depthwise_conv", "kernel": [3, 2], "padding": [1, 0, 0, 1], "depth_multiplier": 2, "activation": "tanh"},
    {"type": "batch_norm", "momentum": 0.9, "epsilon": 1e-5},
    {"type": "residual", "layers": [
        {"type": "conv", "filters": 12, "kernel": 1, "activation": "relu6", "use_bias": False},
        {"type": "residual", "layers": [{"type": "depthwise_conv", "kernel": 3, "padding": "same"}]},
    ]},
    {"type": "repeat", "times": 2, "layers": [{"type": "activation", "function": "relu"}, {"type": "dropout", "rate": 0.5}]},
    {"type": "max_pool", "pool": 3, "stride": 2, "padding": 1},
    {"type": "avg_pool", "pool": 2, "stride": 1, "padding": [0, 1, 1, 0]},
    {"type": "activation", "function": "softmax"},
    {"type": "conv", "filters": 4, "kernel": 2, "padding": "valid", "activation": "linear"},
]
"""Every backbone layer type and activation, with same, valid, symmetric and asymmetric padding."""

HEADS: dict[str, dict[str, Any]] = {
    "flatten": {"type": "flatten", "dropout": 0.2, "hidden": [{"units": 8, "activation": "tanh", "dropout": 0.1}]},
    "global_avg": {"type": "global_avg", "hidden": [5]},
    "global_max": {"type": "global_max"},
    "conv": {"type": "conv", "filters": 7, "dropout": 0.3, "hidden": [{"filters": 5, "activation": "relu6"}]},
    "fcn_avg": {"type": "fcn", "hidden": [6], "pool": "avg"},
    "fcn_max": {"type": "fcn", "pool": "max"},
}

NO_HEAD: list[dict[str, Any]] = [
    {"type": "global_max_pool", "keepdims": True},
    {"type": "global_avg_pool", "keepdims": False},
    {"type": "dense", "units": 3, "use_bias": False},
]
"""A backbone that ends in the logits itself (head type none), with both global pools."""


def check_against_oracle_and_reference(framework: KerasFramework, network: Network, sizes: list[tuple[int, int] | None]) -> None:
    built = framework.build(network)
    counts = framework.count_params(built)
    oracle = analyse(network)
    assert {name: (c.trainable, c.non_trainable) for name, c in counts.items()} == {
        layer.name: (layer.trainable, layer.non_trainable) for layer in oracle.layers
    }
    weights = initial_weights(network, seed=7)
    framework.load_weights(built, weights)
    for size in sizes:
        shape = network.input_shape if size is None else (*size, network.input_shape[2])
        images = np.random.default_rng(1).normal(size=(2, *shape)).astype(np.float32)
        outputs = framework.layer_outputs(built, images)
        expected = reference.layer_outputs(network, weights, images)
        for layer in analyse(network, size).layers:
            assert outputs[layer.name].shape == (2, *layer.output_shape), layer.name
            result = diff(layer.name, outputs[layer.name], expected[layer.name], DEFAULT_TOLERANCE)
            assert not result.diverged, f"{layer.name} at {size}: max abs diff {result.max_abs:.3g}"


@pytest.mark.parametrize("head", list(HEADS), ids=list(HEADS))
def test_every_layer_type_and_head(framework: KerasFramework, make_network, head: str) -> None:
    check_against_oracle_and_reference(framework, make_network(EVERY_LAYER, [13, 11, 3], HEADS[head]), [None])


def test_a_backbone_that_ends_in_the_logits(framework: KerasFramework, make_network) -> None:
    check_against_oracle_and_reference(framework, make_network(EVERY_LAYER + NO_HEAD, [9, 9, 2], {"type": "none"}), [None])


@pytest.mark.parametrize("head", ["global_avg", "global_max", "fcn_avg", "fcn_max"])
def test_a_size_agnostic_network_runs_at_two_input_sizes(framework: KerasFramework, make_network, head: str) -> None:
    network = make_network(EVERY_LAYER, [None, None, 3], HEADS[head])
    check_against_oracle_and_reference(framework, network, [(13, 11), (20, 25)])
