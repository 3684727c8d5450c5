"""The neutral semantics in Flax, layer by layer, against the harness's numpy reference: padding,
pooling, flatten order, depthwise layout, batch norm, dropout, parameter counts, layer names."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from harness.equivalence import reference
from harness.spec import Network
from harness.testing.loops import loop_conv
from harness.neutral.weights import initial_weights
from harness_jax.framework import JaxFramework

MakeNetwork = Callable[..., Network]


def outputs_with_weights(framework: JaxFramework, network: Network, images: np.ndarray, seed: int = 0):
    """Neutral weights, Flax's layer outputs and the numpy reference's, for ``images``."""
    weights = initial_weights(network, seed)
    model = framework.build(network)
    framework.load_weights(model, weights)
    return weights, framework.layer_outputs(model, images), reference.layer_outputs(network, weights, images)


def assert_matches_reference(got: dict[str, np.ndarray], expected: dict[str, np.ndarray]) -> None:
    assert list(got) == list(expected)
    for name, value in expected.items():
        np.testing.assert_allclose(got[name], value, rtol=0, atol=1e-5 * max(1.0, float(np.abs(value).max())), err_msg=name)


@pytest.mark.parametrize("size", [7, 10])
def test_same_padding_with_stride_two_puts_the_extra_pixel_bottom_right(
        framework: JaxFramework, make_network: MakeNetwork, size: int) -> None:
    network = make_network([{"type": "conv", "filters": 2, "kernel": 3, "stride": 2, "padding": "same", "use_bias": False}],
                           [size, size, 1])
    x = np.random.default_rng(0).random((2, size, size, 1), dtype=np.float32)
    weights, got, _ = outputs_with_weights(framework, network, x)
    total = max((-(-size // 2) - 1) * 2 + 3 - size, 0)  # TensorFlow: out = ceil(size / 2)
    pads = (total // 2, total - total // 2, total // 2, total - total // 2)
    expected = loop_conv(x.astype(np.float64), weights["conv_1"]["kernel"].astype(np.float64), 2, pads)
    np.testing.assert_allclose(got["conv_1"], expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize(
    ("layer", "corners"),
    [
        ({"type": "max_pool", "pool": 2, "padding": "same"}, {(0, 0): -1, (1, 1): -9}),
        ({"type": "avg_pool", "pool": 3, "stride": 1, "padding": 1}, {(0, 0): (-1 - 2 - 4 - 5) / 4}),
        ({"type": "avg_pool", "pool": 2, "stride": 1, "padding": [0, 1, 1, 0]}, {(0, 0): (-1 - 4) / 2, (2, 2): (-8 - 9) / 2}),
        ({"type": "max_pool", "pool": 2, "stride": 1, "padding": [1, 0, 0, 1]}, {(0, 0): -1, (2, 2): -6}),
    ],
)
def test_padded_pixels_never_count_in_pooling(framework: JaxFramework, make_network: MakeNetwork,
                                              layer: dict, corners: dict[tuple[int, int], float]) -> None:
    network = make_network([layer], [3, 3, 1])
    x = -np.arange(1, 10, dtype=np.float32).reshape(1, 3, 3, 1)
    _, got, expected = outputs_with_weights(framework, network, x)
    pooled = got[network.nodes[0].name][0, :, :, 0]
    for (row, column), value in corners.items():
        assert pooled[row, column] == pytest.approx(value)
    assert_matches_reference(got, expected)


def test_depthwise_output_channel_is_c_times_multiplier_plus_m(framework: JaxFramework, make_network: MakeNetwork) -> None:
    network = make_network([{"type": "depthwise_conv", "kernel": 3, "depth_multiplier": 2, "padding": "same", "stride": 2}],
                           [5, 5, 3])
    model = framework.build(network)
    conv = model.module().layers["depthwise_conv_1"].conv
    assert (conv.feature_group_count, conv.kernel.shape) == (3, (3, 3, 1, 6))
    x = np.random.default_rng(5).random((2, 5, 5, 3), dtype=np.float32)
    _, got, expected = outputs_with_weights(framework, network, x)
    assert_matches_reference(got, expected)


@pytest.mark.parametrize("function", ["relu", "relu6", "sigmoid", "tanh", "softmax", "linear"])
def test_activations_on_feature_maps_and_vectors(framework: JaxFramework, make_network: MakeNetwork, function: str) -> None:
    network = make_network(
        [{"type": "conv", "filters": 4, "kernel": 1, "activation": function},
         {"type": "activation", "function": function},
         {"type": "global_max_pool", "keepdims": True}, {"type": "flatten"},
         {"type": "dense", "units": 3, "activation": function}],
        [3, 3, 2], head={"type": "none"},
    )
    x = 8 * np.random.default_rng(6).standard_normal((2, 3, 3, 2)).astype(np.float32)
    _, got, expected = outputs_with_weights(framework, network, x)
    assert_matches_reference(got, expected)


def test_a_size_agnostic_network_runs_at_any_size(framework: JaxFramework, make_network: MakeNetwork) -> None:
    network = make_network(
        [{"type": "conv", "filters": 4, "kernel": 3, "stride": 2, "padding": "same"}, {"type": "batch_norm"},
         {"type": "residual", "layers": [{"type": "conv", "filters": 4, "kernel": 3, "padding": "same"}]}],
        [None, None, 2], head={"type": "fcn", "pool": "max"},
    )
    weights = initial_weights(network, 1)
    model = framework.build(network)
    framework.load_weights(model, weights)
    for size in [(9, 12), (16, 16)]:
        x = np.random.default_rng(7).random((2, *size, 2), dtype=np.float32)
        assert_matches_reference(framework.layer_outputs(model, x), reference.layer_outputs(network, weights, x))


def test_batch_norm_trains_with_the_neutral_momentum(framework: JaxFramework, make_network: MakeNetwork) -> None:
    network = make_network([{"type": "batch_norm", "momentum": 0.9, "epsilon": 0.01}], [2, 2, 3],
                           train={"optimizer": {"name": "sgd", "lr": 0.0001}, "batch_size": 4})
    model = framework.build(network)
    norm = model.module().layers["batch_norm_1"]
    assert (norm.momentum, norm.epsilon) == (0.9, 0.01)
    weights = initial_weights(network, 0)
    framework.load_weights(model, weights)
    x = np.random.default_rng(7).random((4, 2, 2, 3), dtype=np.float32)
    framework.train_step(framework.prepare_training(model, network.spec.train), x, np.zeros(4, dtype=np.int64))
    old = weights["batch_norm_1"]
    new = framework.export_weights(model)["batch_norm_1"]
    np.testing.assert_allclose(new["moving_mean"], 0.9 * old["moving_mean"] + 0.1 * x.mean(axis=(0, 1, 2)), rtol=1e-5)
    np.testing.assert_allclose(new["moving_variance"], 0.9 * old["moving_variance"] + 0.1 * x.var(axis=(0, 1, 2)), rtol=1e-5)


def test_dropout_is_on_in_training_and_off_in_inference(framework: JaxFramework, make_network: MakeNetwork) -> None:
    network = make_network([{"type": "dropout", "rate": 0.5}], [4, 4, 3])
    model = framework.build(network)
    x = np.ones((2, 4, 4, 3), dtype=np.float32)
    np.testing.assert_array_equal(framework.layer_outputs(model, x)["dropout_1"], x)
    from flax import nnx

    trained = nnx.merge(model.train_graph, model.params, model.rest).layers["dropout_1"](x)
    assert set(np.unique(np.asarray(trained))) == {0.0, 2.0}


def test_batch_norm_statistics_are_non_trainable(framework: JaxFramework, make_network: MakeNetwork) -> None:
    network = make_network([{"type": "conv", "filters": 4, "kernel": 3}, {"type": "batch_norm"}], [5, 5, 1],
                           head={"type": "global_avg", "hidden": [6]})
    counts = framework.count_params(framework.build(network))
    assert list(counts) == [node.name for node in network.walk()]
    assert (counts["batch_norm_1"].trainable, counts["batch_norm_1"].non_trainable) == (8, 8)
    assert (counts["conv_1"].trainable, counts["conv_1"].non_trainable) == (40, 0)
    assert counts["head_global_avg_pool_1"].total == 0


def test_layers_may_be_named_like_module_attributes(framework: JaxFramework, make_network: MakeNetwork) -> None:
    network = make_network([{"type": "conv", "filters": 2, "kernel": 1, "name": "items"},
                            {"type": "batch_norm", "name": "layers"}, {"type": "conv", "filters": 2, "kernel": 1, "name": "plan"},
                            {"type": "activation", "function": "relu", "name": "train"},
                            {"type": "dropout", "rate": 0.1, "name": "set_attributes"}], [2, 2, 1])
    x = np.random.default_rng(8).random((1, 2, 2, 1), dtype=np.float32)
    _, got, expected = outputs_with_weights(framework, network, x)
    assert_matches_reference(got, expected)
