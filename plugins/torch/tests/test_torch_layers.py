"""The neutral semantics in PyTorch, layer by layer, against numpy written out by hand and the
harness's numpy reference: padding, pooling, flatten order, depthwise layout, batch norm."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch

from harness.neutral import channels_first
from harness.equivalence import reference
from harness.equivalence.parity import compare
from harness.spec import Network
from harness.testing.loops import loop_conv
from harness.neutral.weights import initial_weights
from harness_torch import runtime
from harness_torch.framework import TorchFramework

MakeNetwork = Callable[..., Network]


def outputs_with_weights(framework: TorchFramework, network: Network, images: np.ndarray, seed: int = 0):
    """Neutral weights, PyTorch's layer outputs and the numpy reference's, for ``images``."""
    weights = initial_weights(network, seed)
    model = framework.build(network)
    framework.load_weights(model, weights)
    return weights, framework.layer_outputs(model, images), reference.layer_outputs(network, weights, images)


def assert_matches_reference(got: dict[str, np.ndarray], expected: dict[str, np.ndarray]) -> None:
    assert list(got) == list(expected)
    for name, value in expected.items():
        np.testing.assert_allclose(got[name], value, rtol=0, atol=1e-5 * max(1.0, float(np.abs(value).max())), err_msg=name)


@pytest.mark.parametrize("size", [7, 9, 10])
def test_same_padding_with_stride_two_puts_the_extra_pixel_bottom_right(
        framework: TorchFramework, make_network: MakeNetwork, size: int) -> None:
    network = make_network([{"type": "conv", "filters": 2, "kernel": 3, "stride": 2, "padding": "same", "use_bias": False}],
                           [size, size, 1])
    x = np.random.default_rng(0).random((2, size, size, 1), dtype=np.float32)
    weights, got, _ = outputs_with_weights(framework, network, x)
    total = max((-(-size // 2) - 1) * 2 + 3 - size, 0)  # TensorFlow: out = ceil(size / 2)
    pads = (total // 2, total - total // 2, total // 2, total - total // 2)
    expected = loop_conv(x.astype(np.float64), weights["conv_1"]["kernel"].astype(np.float64), 2, pads)
    np.testing.assert_allclose(got["conv_1"], expected, rtol=0, atol=1e-5)


def test_asymmetric_explicit_padding_and_non_square_kernels_match_loops(
        framework: TorchFramework, make_network: MakeNetwork) -> None:
    network = make_network([{"type": "conv", "filters": 3, "kernel": [3, 2], "stride": 1, "padding": [0, 2, 1, 0]}],
                           [5, 6, 2])
    x = np.random.default_rng(1).random((1, 5, 6, 2), dtype=np.float32)
    weights, got, _ = outputs_with_weights(framework, network, x)
    expected = loop_conv(x.astype(np.float64), weights["conv_1"]["kernel"].astype(np.float64), 1, (0, 2, 1, 0))
    np.testing.assert_allclose(got["conv_1"], expected + weights["conv_1"]["bias"], rtol=0, atol=1e-5)


@pytest.mark.parametrize(
    ("layer", "corners"),
    [
        # The window cut by padding takes the max of its real pixels, even when they are all negative.
        ({"type": "max_pool", "pool": 2, "padding": "same"}, {(0, 0): -1, (1, 1): -9}),
        # A 3x3 average with one pixel of padding covers 4 real pixels in the corner, not 9.
        ({"type": "avg_pool", "pool": 3, "stride": 1, "padding": 1}, {(0, 0): (-1 - 2 - 4 - 5) / 4}),
        # Padding left and below only: the corners average the 2 real pixels of their window.
        ({"type": "avg_pool", "pool": 2, "stride": 1, "padding": [0, 1, 1, 0]}, {(0, 0): (-1 - 4) / 2, (2, 2): (-8 - 9) / 2}),
    ],
)
def test_padded_pixels_never_count_in_pooling(framework: TorchFramework, make_network: MakeNetwork,
                                              layer: dict, corners: dict[tuple[int, int], float]) -> None:
    network = make_network([layer], [3, 3, 1])
    x = -np.arange(1, 10, dtype=np.float32).reshape(1, 3, 3, 1)
    _, got, expected = outputs_with_weights(framework, network, x)
    pooled = got[network.nodes[0].name][0, :, :, 0]
    for (row, column), value in corners.items():
        assert pooled[row, column] == pytest.approx(value)
    assert_matches_reference(got, expected)


@pytest.mark.parametrize("pool", ["max_pool", "avg_pool"])
@pytest.mark.parametrize("size", [(7, 9), (8, 5)])
def test_same_pooling_with_stride_two_on_odd_sizes_matches_the_reference(
        framework: TorchFramework, make_network: MakeNetwork, pool: str, size: tuple[int, int]) -> None:
    network = make_network([{"type": pool, "pool": 3, "stride": 2, "padding": "same"}], [*size, 2])
    x = np.random.default_rng(2).standard_normal((2, *size, 2)).astype(np.float32)
    _, got, expected = outputs_with_weights(framework, network, x)
    assert_matches_reference(got, expected)


def test_flatten_reports_channels_last_order_and_the_next_dense_absorbs_the_permutation(
        framework: TorchFramework, make_network: MakeNetwork, monkeypatch: pytest.MonkeyPatch) -> None:
    network = make_network([{"type": "conv", "filters": 3, "kernel": 1}], [2, 3, 1],
                           head={"type": "flatten", "hidden": [4]})
    x = np.random.default_rng(3).random((2, 2, 3, 1), dtype=np.float32)
    _, got, expected = outputs_with_weights(framework, network, x)
    np.testing.assert_array_equal(got["head_flatten_1"], got["conv_1"].reshape(2, -1))
    assert_matches_reference(got, expected)

    # Without the row permutation the flatten still reports correctly: the dense is named as diverging.
    monkeypatch.setattr(channels_first, "dense_rows_after_flatten", lambda rows, order: rows)
    _, broken, _ = outputs_with_weights(framework, network, x)
    result = compare(network.key, [2, 3, 1], ("torch", "reference"), broken, expected, "logits")
    assert result.first_divergent_layer == "head_dense_1" and not result.passed


def test_flattened_features_keep_their_order_through_batch_norm_and_a_residual(
        framework: TorchFramework, make_network: MakeNetwork) -> None:
    network = make_network(
        [{"type": "conv", "filters": 2, "kernel": 1}, {"type": "flatten"},
         {"type": "batch_norm"},
         {"type": "residual", "layers": [{"type": "dense", "units": 5, "activation": "relu"}, {"type": "dense", "units": 12}]},
         {"type": "activation", "function": "softmax"}, {"type": "dense", "units": 3}],
        [2, 3, 1], head={"type": "none"},
    )
    x = np.random.default_rng(4).random((2, 2, 3, 1), dtype=np.float32)
    weights, got, expected = outputs_with_weights(framework, network, x)
    assert_matches_reference(got, expected)
    model = framework.build(network)
    framework.load_weights(model, weights)
    exported = framework.export_weights(model)
    for layer, tensors in weights.items():
        for name, array in tensors.items():
            np.testing.assert_array_equal(exported[layer][name], array)


@pytest.mark.parametrize("backbone", [
    [{"type": "conv", "filters": 5, "kernel": [4, 3], "stride": [1, 3]}, {"type": "flatten"}],
    [{"type": "conv", "filters": 5, "kernel": [4, 3], "stride": [1, 3]}, {"type": "flatten"}, {"type": "batch_norm"},
     {"type": "residual", "layers": [{"type": "dense", "units": 10, "activation": "relu"}]}],
], ids=["flatten_into_logits", "flatten_into_a_residual_at_the_end"])
def test_a_flatten_no_dense_follows_flattens_channels_last_so_the_logits_are_neutral(
        framework: TorchFramework, make_network: MakeNetwork, backbone: list[dict]) -> None:
    network = make_network(backbone, [4, 6, 1], head={"type": "none"}, classes=10)
    x = np.random.default_rng(9).random((2, 4, 6, 1), dtype=np.float32)
    weights, got, expected = outputs_with_weights(framework, network, x)
    assert_matches_reference(got, expected)
    model = framework.build(network)
    framework.load_weights(model, weights)
    np.testing.assert_allclose(framework.predict(model, x), reference.forward(network, weights, x), atol=1e-5)


def test_depthwise_output_channel_is_c_times_multiplier_plus_m(framework: TorchFramework, make_network: MakeNetwork) -> None:
    network = make_network([{"type": "depthwise_conv", "kernel": 3, "depth_multiplier": 2, "padding": "same", "stride": 2}],
                           [5, 5, 3])
    model = framework.build(network)
    assert model.layers["depthwise_conv_1"].groups == 3
    x = np.random.default_rng(5).random((2, 5, 5, 3), dtype=np.float32)
    _, got, expected = outputs_with_weights(framework, network, x)
    assert_matches_reference(got, expected)


@pytest.mark.parametrize("function", ["relu", "relu6", "sigmoid", "tanh", "softmax", "linear"])
def test_activations_on_feature_maps_and_vectors(framework: TorchFramework, make_network: MakeNetwork, function: str) -> None:
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


def test_batch_norm_trains_on_batch_statistics_with_momentum_one_minus_neutral(
        framework: TorchFramework, make_network: MakeNetwork) -> None:
    network = make_network([{"type": "batch_norm", "momentum": 0.9, "epsilon": 0.01}], [2, 2, 3])
    model = framework.build(network)
    norm = model.layers["batch_norm_1"]
    assert norm.momentum == pytest.approx(0.1) and norm.eps == pytest.approx(0.01)
    weights = initial_weights(network, 0)
    framework.load_weights(model, weights)
    x = np.random.default_rng(7).random((4, 2, 2, 3), dtype=np.float32)
    model.train()
    with torch.no_grad():
        model(runtime.images_to_native(x, "cpu"))
    old = weights["batch_norm_1"]["moving_mean"]
    np.testing.assert_allclose(norm.running_mean.numpy(), 0.9 * old + 0.1 * x.mean(axis=(0, 1, 2)), rtol=1e-5)
    # Inference uses the moving statistics: the reference's batch norm.
    framework.load_weights(model, weights)
    assert_matches_reference(framework.layer_outputs(model, x), reference.layer_outputs(network, weights, x))


def test_dropout_is_on_in_training_and_off_in_inference(framework: TorchFramework, make_network: MakeNetwork) -> None:
    network = make_network([{"type": "dropout", "rate": 0.5}], [4, 4, 3])
    model = framework.build(network)
    x = np.ones((2, 4, 4, 3), dtype=np.float32)
    np.testing.assert_array_equal(framework.layer_outputs(model, x)["dropout_1"], x)
    model.train()
    trained = model.layers["dropout_1"](runtime.images_to_native(x, "cpu"))
    assert set(np.unique(trained.numpy())) == {0.0, 2.0}


def test_batch_norm_statistics_are_non_trainable_and_the_batch_counter_is_no_parameter(
        framework: TorchFramework, make_network: MakeNetwork) -> None:
    network = make_network([{"type": "conv", "filters": 4, "kernel": 3}, {"type": "batch_norm"}], [5, 5, 1],
                           head={"type": "global_avg", "hidden": [6]})
    model = framework.build(network)
    assert model.layers["batch_norm_1"].num_batches_tracked is not None
    counts = framework.count_params(model)
    assert (counts["batch_norm_1"].trainable, counts["batch_norm_1"].non_trainable) == (8, 8)
    assert (counts["conv_1"].trainable, counts["conv_1"].non_trainable) == (40, 0)
    assert counts["head_global_avg_pool_1"].total == 0


def test_layers_may_be_named_like_module_attributes(framework: TorchFramework, make_network: MakeNetwork) -> None:
    network = make_network([{"type": "conv", "filters": 2, "kernel": 1, "name": "update"},
                            {"type": "batch_norm", "name": "items"}], [2, 2, 1])
    x = np.random.default_rng(8).random((1, 2, 2, 1), dtype=np.float32)
    _, got, expected = outputs_with_weights(framework, network, x)
    assert_matches_reference(got, expected)
