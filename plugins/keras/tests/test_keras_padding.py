"""Padding semantics in Keras against window loops written out in numpy.

The neutral rules: ``same`` is TensorFlow's (output ceil(n / stride), the odd extra pixel at the
bottom/right); padded pixels never count in a pool (max ignores them, average leaves them out of
the count); explicit pixels are zeros for convolutions.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np
import pytest

from harness.neutral.weights import initial_weights
from harness_keras.framework import KerasFramework

Pads = tuple[int, int, int, int]


def tf_same(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's 'same' padding of one axis, as its documentation states it."""
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def pads_of(padding: str | int | tuple[int, int, int, int], size: int, kernel: int, stride: int) -> Pads:
    """(top, bottom, left, right) pixels of a square input for a neutral padding."""
    if padding == "same":
        before, after = tf_same(size, kernel, stride)
        return before, after, before, after
    return (padding,) * 4 if isinstance(padding, int) else padding


def as_spec(padding: str | int | tuple[int, int, int, int]) -> str | int | list[int]:
    return list(padding) if isinstance(padding, tuple) else padding


def windows(x: np.ndarray, kernel: int, stride: int, pads: Pads, fill: float) -> Iterator[tuple[int, int, np.ndarray]]:
    """Every (row, column, window) of ``x`` padded with ``fill``."""
    top, bottom, left, right = pads
    padded = np.pad(x.astype(np.float64), ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=fill)
    for i in range((padded.shape[1] - kernel) // stride + 1):
        for j in range((padded.shape[2] - kernel) // stride + 1):
            yield i, j, padded[:, i * stride : i * stride + kernel, j * stride : j * stride + kernel, :]


def apply_windows(x: np.ndarray, kernel: int, stride: int, pads: Pads, fill: float,
                  reduce: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    cells = list(windows(x, kernel, stride, pads, fill))
    rows, cols = cells[-1][0] + 1, cells[-1][1] + 1
    first = reduce(cells[0][2])
    out = np.zeros((x.shape[0], rows, cols, first.shape[-1]))
    for i, j, window in cells:
        out[:, i, j, :] = reduce(window)
    return out


def negative_images(size: int, channels: int = 2) -> np.ndarray:
    """Strictly negative images: a zero-padded max pool would wrongly output 0 at the border."""
    return -1.0 - np.random.default_rng(0).random((2, size, size, channels), dtype=np.float32)


def run_layer(framework: KerasFramework, network, images: np.ndarray, layer: str, seed: int = 1):
    built = framework.build(network)
    weights = initial_weights(network, seed)
    framework.load_weights(built, weights)
    return framework.layer_outputs(built, images)[layer], weights.get(layer, {})


@pytest.mark.parametrize(("size", "kernel"), [(7, 3), (7, 4), (9, 2), (8, 3), (5, 1)])
def test_conv_same_stride_two_pads_the_extra_pixel_bottom_right(framework: KerasFramework, make_network, size: int, kernel: int) -> None:
    network = make_network([{"type": "conv", "filters": 3, "kernel": kernel, "stride": 2, "padding": "same"}], [size, size, 2])
    images = np.random.default_rng(0).random((2, size, size, 2), dtype=np.float32)
    got, params = run_layer(framework, network, images, "conv_1")
    expected = apply_windows(images, kernel, 2, pads_of("same", size, kernel, 2), 0.0,
                             lambda w: np.tensordot(w, params["kernel"], axes=([1, 2, 3], [0, 1, 2])) + params["bias"])
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_depthwise_conv_same_stride_two_keeps_channel_times_multiplier_order(framework: KerasFramework, make_network) -> None:
    layer = {"type": "depthwise_conv", "kernel": 3, "stride": 2, "padding": "same", "depth_multiplier": 2}
    network = make_network([layer], [8, 8, 3])
    images = np.random.default_rng(0).random((2, 8, 8, 3), dtype=np.float32)
    got, params = run_layer(framework, network, images, "depthwise_conv_1")

    def depthwise(window: np.ndarray) -> np.ndarray:
        per_channel = np.einsum("nhwc,hwcm->ncm", window, params["kernel"])
        return per_channel.reshape(window.shape[0], -1) + params["bias"]

    np.testing.assert_allclose(got, apply_windows(images, 3, 2, pads_of("same", 8, 3, 2), 0.0, depthwise), atol=1e-5)


def test_conv_explicit_asymmetric_padding_is_zeros(framework: KerasFramework, make_network) -> None:
    pads = (0, 2, 1, 0)
    network = make_network([{"type": "conv", "filters": 2, "kernel": 3, "padding": list(pads)}], [6, 6, 1])
    images = np.random.default_rng(0).random((2, 6, 6, 1), dtype=np.float32)
    got, params = run_layer(framework, network, images, "conv_1")
    expected = apply_windows(images, 3, 1, pads, 0.0,
                             lambda w: np.tensordot(w, params["kernel"], axes=([1, 2, 3], [0, 1, 2])) + params["bias"])
    np.testing.assert_allclose(got, expected, atol=1e-5)


@pytest.mark.parametrize(("kernel", "padding", "stride", "size", "padding_layer"), [
    (5, 2, 1, 7, False), (3, 1, 1, 6, False), (4, (1, 2, 1, 2), 1, 6, False),  # what 'same' pads at stride 1
    (3, (2, 0, 1, 1), 1, 6, True), (3, 1, 2, 7, True), (3, 1, 2, 8, True),  # not 'same': a padding layer first
], ids=["k5-p2", "k3-p1", "k4-p1212", "k3-asymmetric", "k3-p1-s2-odd", "k3-p1-s2-even"])
def test_conv_explicit_padding_that_same_pads_anyway_needs_no_padding_layer(
        framework: KerasFramework, make_network, kernel: int, padding, stride: int, size: int, padding_layer: bool) -> None:
    """Explicit pixels equal to TensorFlow's 'same' at stride 1 are padded inside the convolution;
    any other explicit padding keeps its ZeroPadding2D. Either way the result is the zero-padded sum."""
    network = make_network([{"type": "conv", "filters": 2, "kernel": kernel, "stride": stride, "padding": as_spec(padding)}],
                           [size, size, 2])
    assert (len(framework.build(network).groups["conv_1"]) == 2) is padding_layer
    images = np.random.default_rng(0).random((2, size, size, 2), dtype=np.float32)
    got, params = run_layer(framework, network, images, "conv_1")
    expected = apply_windows(images, kernel, stride, pads_of(padding, size, kernel, stride), 0.0,
                             lambda w: np.tensordot(w, params["kernel"], axes=([1, 2, 3], [0, 1, 2])) + params["bias"])
    np.testing.assert_allclose(got, expected, atol=1e-5)


@pytest.mark.parametrize(("padding", "size"), [("same", 5), ("same", 7), ((1, 0, 0, 1), 5), (1, 6)],
                         ids=["same-5", "same-7", "explicit_1001-5", "explicit_1-6"])
def test_max_pool_never_picks_a_padded_pixel(framework: KerasFramework, make_network, padding, size: int) -> None:
    layer = {"type": "max_pool", "pool": 3, "stride": 2, "padding": as_spec(padding)}
    network = make_network([layer], [size, size, 2])
    images = negative_images(size)
    got, _ = run_layer(framework, network, images, "max_pool_1")
    expected = apply_windows(images, 3, 2, pads_of(padding, size, 3, 2), -np.inf, lambda w: w.max(axis=(1, 2)))
    assert (got < 0).all()
    np.testing.assert_allclose(got, expected, atol=1e-6)


@pytest.mark.parametrize(("padding", "size", "stride"), [("same", 5, 2), ("same", 6, 2), ((1, 2, 0, 1), 5, 1), (1, 5, 2)],
                         ids=["same-5-s2", "same-6-s2", "explicit_1201-5-s1", "explicit_1-5-s2"])
def test_avg_pool_leaves_padded_pixels_out_of_the_count(framework: KerasFramework, make_network, padding, size: int, stride: int) -> None:
    layer = {"type": "avg_pool", "pool": 3, "stride": stride, "padding": as_spec(padding)}
    network = make_network([layer], [size, size, 2])
    images = negative_images(size)
    got, _ = run_layer(framework, network, images, "avg_pool_1")
    expected = apply_windows(images, 3, stride, pads_of(padding, size, 3, stride), np.nan, lambda w: np.nanmean(w, axis=(1, 2)))
    np.testing.assert_allclose(got, expected, atol=1e-6)
