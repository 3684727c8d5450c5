"""The numpy reference forward against loops written out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from harness.equivalence import reference
from harness.testing.loops import loop_conv
from harness.testing.specs import inline_network
from harness.neutral.weights import check_complete, initial_weights


@pytest.mark.parametrize("size", [7, 8, 9])
def test_same_padding_stride_two_puts_the_extra_pixel_bottom_right(size: int) -> None:
    net = inline_network([{"type": "conv", "filters": 2, "kernel": 3, "stride": 2, "padding": "same", "use_bias": False}],
                         [size, size, 1])
    weights = initial_weights(net, 1)
    x = np.random.default_rng(0).random((2, size, size, 1))
    total = max((-(-size // 2) - 1) * 2 + 3 - size, 0)
    pads = (total // 2, total - total // 2) * 2
    expected = loop_conv(x, weights["conv_1"]["kernel"].astype(np.float64), 2, (pads[0], pads[1], pads[0], pads[1]))
    got = reference.layer_outputs(net, weights, x)["conv_1"]
    np.testing.assert_allclose(got, expected, atol=1e-12)


def test_pooling_padding_never_counts() -> None:
    net = inline_network(
        [{"type": "max_pool", "pool": 2, "padding": "same"}, {"type": "conv", "filters": 1, "kernel": 1},
         {"type": "avg_pool", "pool": 3, "stride": 1, "padding": 1}],
        [3, 3, 1],
    )
    x = -np.arange(1, 10, dtype=np.float64).reshape(1, 3, 3, 1)
    weights = initial_weights(net, 0)
    outputs = reference.layer_outputs(net, weights, x)
    # Max over a window cut by padding is the max of the real pixels, even when all are negative.
    np.testing.assert_array_equal(outputs["max_pool_1"][0, :, :, 0], [[-1, -3], [-7, -9]])
    conv = outputs["conv_1"][0, :, :, 0]
    # The corner average of a 3x3 window with 1 pixel of padding covers 4 real pixels, not 9.
    assert outputs["avg_pool_1"][0, 0, 0, 0] == pytest.approx(conv[:2, :2].mean())


def test_flatten_is_channels_last_and_depthwise_channels_are_c_times_m_plus_m() -> None:
    net = inline_network(
        [{"type": "depthwise_conv", "kernel": 1, "depth_multiplier": 2, "use_bias": False}],
        [2, 2, 2], head={"type": "flatten"},
    )
    weights = initial_weights(net, 0)
    weights["depthwise_conv_1"]["kernel"][...] = np.array([[[[1.0, 10.0], [100.0, 1000.0]]]])
    x = np.arange(8, dtype=np.float64).reshape(1, 2, 2, 2)
    outputs = reference.layer_outputs(net, weights, x)
    depthwise = outputs["depthwise_conv_1"]
    np.testing.assert_array_equal(depthwise[0, 0, 0], [0.0, 0.0, 100.0, 1000.0])
    np.testing.assert_array_equal(outputs["head_flatten_1"][0, :4], depthwise[0, 0, 0])


def test_residual_adds_its_input_and_batch_norm_uses_moving_statistics() -> None:
    net = inline_network(
        [{"type": "conv", "filters": 2, "kernel": 1},
         {"type": "residual", "layers": [{"type": "batch_norm", "epsilon": 0.5}]}],
        [2, 2, 1],
    )
    weights = initial_weights(net, 3)
    check_complete(net, weights)
    x = np.random.default_rng(1).random((1, 2, 2, 1))
    outputs = reference.layer_outputs(net, weights, x)
    bn = weights["batch_norm_1"]
    conv = outputs["conv_1"]
    normalised = (conv - bn["moving_mean"]) / np.sqrt(bn["moving_variance"].astype(np.float64) + 0.5) * bn["gamma"] + bn["beta"]
    np.testing.assert_allclose(outputs["residual_1"], conv + normalised, rtol=1e-6)
