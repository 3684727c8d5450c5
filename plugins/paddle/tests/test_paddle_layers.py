"""Every layer type and head, built from small inline networks, against the oracle and the numpy
reference; padding semantics against a direct numpy computation; the flatten permutation."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view
from paddle_helpers import SEED, first_divergent_layer, parity_with_reference, random_images

from harness.neutral import channels_first
from harness.equivalence import reference
from harness.devices import DeviceError
from harness.neutral.oracle import analyse
from harness.spec import Network
from harness.testing.specs import inline_network, input_sizes
from harness.neutral.weights import initial_weights
from harness_paddle.framework import PaddleFramework
from harness_paddle.layers import ChannelsLastFlatten
from harness_paddle.runtime import cuda_available, nn

Case = dict[str, Any]

CASES: dict[str, Case] = {
    "every_layer_type": {
        "input_shape": [24, 19, 3],
        "backbone": [
            {"type": "conv", "filters": 6, "kernel": [3, 5], "stride": 2, "padding": "same", "activation": "relu"},
            {"type": "depthwise_conv", "kernel": 3, "padding": [0, 1, 2, 0], "depth_multiplier": 2, "activation": "relu6"},
            {"type": "batch_norm", "momentum": 0.9, "epsilon": 0.001},
            {"type": "max_pool", "pool": 3, "stride": 2, "padding": "same"},
            {"type": "avg_pool", "pool": 2, "stride": 1, "padding": [1, 0, 0, 1]},
            {"type": "residual", "layers": [
                {"type": "conv", "filters": 12, "kernel": 3, "padding": "same", "activation": "tanh"},
                {"type": "batch_norm"},
                {"type": "activation", "function": "sigmoid"},
            ]},
            {"type": "avg_pool", "pool": 3, "stride": 2, "padding": "same"},
            {"type": "max_pool", "pool": 2, "stride": 1, "padding": 1},
            {"type": "conv", "filters": 5, "kernel": 3, "padding": 1, "use_bias": False, "activation": "softmax"},
            {"type": "dropout", "rate": 0.3},
            {"type": "global_max_pool", "keepdims": True},
            {"type": "conv", "filters": 4, "kernel": 1, "activation": "sigmoid"},
        ],
        "head": {"type": "flatten", "dropout": 0.2, "hidden": [{"units": 7, "activation": "tanh", "dropout": 0.1}]},
    },
    "batch_norm_after_flatten": {
        "input_shape": [9, 7, 2],
        "backbone": [
            {"type": "conv", "filters": 3, "kernel": 3, "stride": 2, "padding": "same"},
            {"type": "flatten"},
            {"type": "batch_norm"},
            {"type": "activation", "function": "relu"},
            {"type": "dropout", "rate": 0.5},
            {"type": "dense", "units": 3},
        ],
        "head": {"type": "none"},
    },
    "flatten_into_logits": {
        "input_shape": [4, 6, 1],
        "backbone": [{"type": "conv", "filters": 5, "kernel": [4, 3], "stride": [1, 3]}, {"type": "flatten"}],
        "head": {"type": "none"},
        "classes": 10,
    },
    "flatten_into_residual": {
        "input_shape": [5, 4, 2],
        "backbone": [
            {"type": "conv", "filters": 3, "kernel": 3, "stride": 2, "padding": "same"},
            {"type": "flatten"},
            {"type": "residual", "layers": [{"type": "dense", "units": 18, "activation": "relu"}]},
            {"type": "dense", "units": 3},
        ],
        "head": {"type": "none"},
    },
    "conv_head": {
        "input_shape": [10, 10, 1],
        "backbone": [{"type": "conv", "filters": 4, "kernel": 3, "activation": "relu"}],
        "head": {"type": "conv", "filters": 6, "dropout": 0.2, "hidden": [5]},
    },
    "global_max_head": {
        "input_shape": [8, 8, 2],
        "backbone": [{"type": "conv", "filters": 4, "kernel": 3, "stride": 2, "padding": "same"},
                     {"type": "global_avg_pool", "keepdims": True}, {"type": "conv", "filters": 6, "kernel": 1}],
        "head": {"type": "global_max", "hidden": [5]},
    },
    "size_agnostic_fcn": {
        "input_shape": [None, None, 2],
        "backbone": [
            {"type": "conv", "filters": 4, "kernel": 3, "stride": 2, "padding": "same", "activation": "relu"},
            {"type": "max_pool", "pool": 3, "stride": 2, "padding": "same"},
            {"type": "depthwise_conv", "kernel": 3, "stride": 2, "padding": "same"},
            {"type": "avg_pool", "pool": 3, "stride": 2, "padding": "same"},
            {"type": "conv", "filters": 3, "kernel": 2, "padding": [1, 0, 0, 1]},
        ],
        "head": {"type": "fcn", "hidden": [4], "pool": "max"},
    },
}
AGNOSTIC_SIZES = ((9, 7), (16, 16), (5, 11))


def case_network(name: str, **overrides: Any) -> Network:
    """One of :data:`CASES` as an expanded network."""
    case = dict(CASES[name])
    return inline_network(case.pop("backbone"), case.pop("input_shape"), case.pop("head"), **case, **overrides)


@pytest.mark.parametrize("name", CASES)
def test_counts_shapes_and_outputs_agree_with_the_oracle_and_reference(framework: PaddleFramework, name: str) -> None:
    network = case_network(name)
    model = framework.build(network)
    counts = framework.count_params(model)
    oracle = analyse(network)
    assert {n: (c.trainable, c.non_trainable) for n, c in counts.items()} == {
        layer.name: (layer.trainable, layer.non_trainable) for layer in oracle.layers
    }
    for size in input_sizes(network, AGNOSTIC_SIZES):
        images = random_images(network, 3, size)
        shapes = {n: a.shape for n, a in framework.layer_outputs(model, images).items()}
        assert shapes == {layer.name: (3, *layer.output_shape) for layer in analyse(network, size).layers}
        assert parity_with_reference(framework, model, network, images) is None, size


def test_batch_norm_moving_statistics_are_non_trainable(framework: PaddleFramework) -> None:
    model = framework.build(case_network("batch_norm_after_flatten"))
    count = framework.count_params(model)["batch_norm_1"]
    assert (count.trainable, count.non_trainable) == (2 * 60, 2 * 60)


def test_the_logits_flatten_runs_channels_last_and_the_dense_flatten_natively(framework: PaddleFramework) -> None:
    logits_model = framework.build(case_network("flatten_into_logits"))
    assert isinstance(logits_model.unit("flatten_1").core, ChannelsLastFlatten)
    dense_model = framework.build(case_network("batch_norm_after_flatten"))
    assert isinstance(dense_model.unit("flatten_1").core, nn.Flatten)
    np.testing.assert_array_equal(dense_model.plan.orders["dense_1"].inputs, channels_first.flatten_order(5, 4, 3))


# ----------------------------------------------------------------------------- padding semantics


def _window_reduce(x: np.ndarray, window: tuple[int, int], stride: tuple[int, int], pads: tuple[int, int, int, int],
                   reduce: Callable[..., np.ndarray]) -> np.ndarray:
    """``reduce`` over each window of a NHWC map padded with NaN (padded pixels never count)."""
    top, bottom, left, right = pads
    padded = np.pad(x.astype(np.float64), ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=np.nan)
    view = sliding_window_view(padded, window, axis=(1, 2))[:, :: stride[0], :: stride[1]]
    return reduce(view, axis=(-2, -1))


@pytest.mark.parametrize("size", [(5, 7), (6, 9), (7, 7)])
def test_stride_two_same_conv_pads_the_odd_pixel_at_the_bottom_right(framework: PaddleFramework, size: tuple[int, int]) -> None:
    network = inline_network([{"type": "conv", "filters": 1, "kernel": 3, "stride": 2, "padding": "same", "use_bias": False}],
                             [*size, 1])
    model = framework.build(network)
    framework.load_weights(model, {"conv_1": {"kernel": np.ones((3, 3, 1, 1), np.float32)}, "logits": initial_weights(network, 0)["logits"]})
    images = np.ones((1, *size, 1), np.float32)
    # TensorFlow: output ceil(size / 2); total padding (out - 1) * 2 + 3 - size, the odd pixel after.
    # An all-ones kernel on an all-ones image counts the real pixels under each window.
    pad_h, pad_w = (max((math.ceil(s / 2) - 1) * 2 + 3 - s, 0) for s in size)
    expected = _window_reduce(images, (3, 3), (2, 2), (pad_h // 2, pad_h - pad_h // 2, pad_w // 2, pad_w - pad_w // 2), np.nansum)
    assert expected.shape[1:3] == (math.ceil(size[0] / 2), math.ceil(size[1] / 2))
    np.testing.assert_allclose(framework.layer_outputs(model, images)["conv_1"], expected, atol=1e-6)


@pytest.mark.parametrize(("layer", "reduce"), [
    ({"type": "max_pool", "pool": 3, "stride": 2, "padding": "same"}, np.nanmax),
    ({"type": "avg_pool", "pool": 3, "stride": 2, "padding": "same"}, np.nanmean),
    ({"type": "max_pool", "pool": 2, "stride": 1, "padding": [0, 1, 1, 0]}, np.nanmax),
    ({"type": "avg_pool", "pool": 3, "stride": 1, "padding": [2, 0, 0, 1]}, np.nanmean),
])
def test_padded_pixels_never_count_in_a_pool(framework: PaddleFramework, layer: dict[str, Any], reduce: Callable[..., np.ndarray]) -> None:
    network = inline_network([layer], [7, 6, 2])
    model = framework.build(network)
    images = -1.0 - random_images(network, 2) ** 2  # all negative: a padded zero would win every max
    traced = network.trace[0]
    pads = channels_first.static_pads(traced.node.layer, traced.input_shape)
    window, stride = channels_first.window(traced.node.layer)
    expected = _window_reduce(images, window, stride, pads, reduce)
    np.testing.assert_allclose(framework.layer_outputs(model, images)[traced.node.name], expected, rtol=1e-6)


def test_size_agnostic_same_padding_is_computed_per_input_size(framework: PaddleFramework) -> None:
    network = case_network("size_agnostic_fcn")
    model = framework.build(network)
    for size in AGNOSTIC_SIZES:
        images = random_images(network, 2, size, seed=sum(size))
        logits = framework.predict(model, images)
        weights = initial_weights(network, SEED)
        framework.load_weights(model, weights)
        np.testing.assert_allclose(framework.predict(model, images), reference.forward(network, weights, images), atol=1e-4)
        assert logits.shape == (2, network.spec.classes)


# ----------------------------------------------------------------------------- flatten permutation


def test_dense_rows_after_flatten_map_channels_last_rows_to_channels_first() -> None:
    height, width, channels = 2, 3, 4
    kernel = np.arange(height * width * channels * 2, dtype=np.float32).reshape(-1, 2)
    order = channels_first.flatten_order(height, width, channels)
    paddle_rows = channels_first.dense_rows_after_flatten(kernel, order)
    for h in range(height):
        for w in range(width):
            for c in range(channels):
                np.testing.assert_array_equal(paddle_rows[(c * height + h) * width + w], kernel[(h * width + w) * channels + c])
    back = channels_first.dense_rows_after_flatten(paddle_rows, channels_first.inverse(order))
    np.testing.assert_array_equal(back, kernel)


def test_a_skipped_flatten_permutation_is_caught_at_the_dense_layer(framework: PaddleFramework, monkeypatch: pytest.MonkeyPatch) -> None:
    network = case_network("batch_norm_after_flatten")
    model = framework.build(network)
    monkeypatch.setattr(channels_first, "dense_rows_after_flatten", lambda rows, order: rows)
    weights = initial_weights(network, SEED)
    framework.load_weights(model, weights)
    images = random_images(network, 2)
    outputs = dict(framework.layer_outputs(model, images))
    assert first_divergent_layer(outputs, reference.layer_outputs(network, weights, images)) == "dense_1"


# ----------------------------------------------------------------------------- settings and training


def test_effective_settings_state_every_value_explicitly(framework: PaddleFramework) -> None:
    network = case_network("every_layer_type", train={"optimizer": {"name": "adam", "epsilon": 1e-8}})
    settings = framework.effective_settings(framework.build(network), network).as_dict()
    assert settings["batch_norm_1"]["momentum"]["value"] == settings["batch_norm_1"]["momentum"]["neutral"] == 0.9
    assert settings["batch_norm_1"]["epsilon"]["value"] == 0.001
    assert settings["batch_norm_2"]["momentum"]["value"] == 0.99  # the neutral default, passed explicitly
    assert settings["dropout_1"]["mode"]["value"] == "upscale_in_train"
    assert settings["conv_1"]["padding_pixels"]["value"] == [0, 1, 2, 2]  # 24x19, kernel 3x5, stride 2: TensorFlow's same
    assert settings["depthwise_conv_1"]["padding_pixels"]["value"] == [0, 1, 2, 0]
    for name, value in (("kernel", [3, 5]), ("stride", [2, 2]), ("activation", "ReLU"), ("use_bias", True)):
        assert settings["conv_1"][name]["value"] == value, name
    assert settings["depthwise_conv_1"]["depth_multiplier"]["value"] == settings["depthwise_conv_1"]["depth_multiplier"]["neutral"] == 2
    assert settings["conv_1"]["kernel_initializer"]["default"] is True
    optimizer = settings["optimizer"]
    assert optimizer["class"]["value"] == "paddle.optimizer.Adam"
    for name, neutral in (("learning_rate", 0.001), ("beta1", 0.9), ("beta2", 0.999), ("epsilon", 1e-8)):
        assert optimizer[name]["value"] == optimizer[name]["neutral"] == neutral, name
    assert settings["loss"]["reduction"]["value"] == "mean"


def test_shared_initialisation_is_not_reported_as_a_default(framework: PaddleFramework) -> None:
    network = case_network("conv_head", train={"optimizer": {"name": "sgd"}, "init": "shared"})
    settings = framework.effective_settings(framework.build(network), network).as_dict()
    assert settings["conv_1"]["kernel_initializer"]["default"] is False


@pytest.mark.parametrize("optimizer", [
    {"name": "sgd", "lr": 0.1},
    {"name": "momentum", "lr": 0.1, "momentum": 0.8, "nesterov": True},
    {"name": "adam", "lr": 0.01},
    {"name": "adadelta", "lr": 1.0, "rho": 0.9},
    {"name": "rmsprop", "lr": 0.01, "momentum": 0.5, "centered": True},
])
def test_a_training_step_updates_the_weights_with_every_optimizer(framework: PaddleFramework, optimizer: dict[str, Any]) -> None:
    network = case_network("batch_norm_after_flatten", train={"optimizer": optimizer})
    model = framework.build(network)
    before = framework.export_weights(model)
    trainer = framework.prepare_training(model, network.spec.train)
    images = random_images(network, 4)
    result = framework.train_step(trainer, images, np.array([0, 1, 2, 1]))
    after = framework.export_weights(model)
    assert math.isfinite(result.loss) and 0 <= result.correct <= 4
    assert not np.array_equal(before["dense_1"]["kernel"], after["dense_1"]["kernel"])
    assert not np.array_equal(before["batch_norm_1"]["moving_mean"], after["batch_norm_1"]["moving_mean"])


def test_predictions_are_inference_mode_and_repeatable(framework: PaddleFramework) -> None:
    network = case_network("every_layer_type")
    model = framework.build(network)
    images = random_images(network, 2)
    np.testing.assert_array_equal(framework.predict(model, images), framework.predict(model, images))


# ----------------------------------------------------------------------------- devices


def test_devices_and_threads_are_reported(framework: PaddleFramework) -> None:
    assert framework.devices()[0] == "cpu"
    assert ("cuda" in framework.devices()) == cuda_available()
    assert framework.thread_settings()["FLAGS_paddle_num_threads"] == framework.threads


@pytest.mark.skipif(cuda_available(), reason="a GPU is visible to Paddle here")
def test_cuda_without_a_gpu_is_a_clear_error() -> None:
    with pytest.raises(DeviceError, match="--device cpu"):
        PaddleFramework(device="cuda", threads=1, seed=0)
