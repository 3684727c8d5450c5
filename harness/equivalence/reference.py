"""A framework-free forward pass in numpy: what every network *means*, layer by layer.

It runs a network on neutral weights (:mod:`harness.neutral.weights`) in inference mode, in float64 (a
layer computes in the dtype of its input, so the training reference can also run in float32) and
channels-last, with the neutral semantics written down once: TensorFlow's ``same`` padding,
padded pixels that never count in a pooling window (max ignores them, average leaves them out of
the count), flatten in (H, W, C) order, batch norm on its moving statistics, dropout off. Parity
checks compare every framework with it and with each other.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from harness.framework import NeutralWeights
from harness.neutral.shapes import resolve_padding
from harness.spec import Network, Node
from harness.spec import schema


def activate(x: np.ndarray, function: str) -> np.ndarray:
    """One neutral activation function (softmax over the last axis, the channels)."""
    if function == "relu":
        return np.maximum(x, 0.0)
    if function == "relu6":
        return np.clip(x, 0.0, 6.0)
    if function == "sigmoid":
        return 1.0 / (1.0 + np.exp(-x))
    if function == "tanh":
        return np.tanh(x)
    if function == "softmax":
        shifted = np.exp(x - x.max(axis=-1, keepdims=True))
        return shifted / shifted.sum(axis=-1, keepdims=True)
    return x


def windows(x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int], pads: tuple[int, int, int, int], fill: float) -> np.ndarray:
    """(N, Ho, Wo, C, kh, kw) windows of ``x`` padded with ``fill`` (a view of the padded copy)."""
    top, bottom, left, right = pads
    padded = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=fill)
    view = sliding_window_view(padded, kernel, axis=(1, 2))
    return view[:, :: stride[0], :: stride[1]]


def columns(patches: np.ndarray) -> np.ndarray:
    """Windows ``(N, Ho, Wo, C, kh, kw)`` as rows ``(N * Ho * Wo, C * kh * kw)`` (a copy), for one matrix product."""
    return patches.reshape(int(np.prod(patches.shape[:3])), -1)


def kernel_matrix(kernel: np.ndarray) -> np.ndarray:
    """A conv kernel ``(kh, kw, C, F)`` as the matrix ``(C * kh * kw, F)`` that multiplies :func:`columns`."""
    return kernel.transpose(2, 0, 1, 3).reshape(-1, kernel.shape[-1])


def window_pads(layer: schema.Layer, x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int]) -> tuple[int, int, int, int]:
    """``(top, bottom, left, right)`` pixels of a window layer's padding for input ``x``."""
    pads = resolve_padding(layer.padding, x.shape[1], x.shape[2], kernel, stride)
    assert pads is not None
    return pads


def _window_layer(layer: schema.Layer, x: np.ndarray, params: dict[str, np.ndarray]) -> np.ndarray:
    if layer.type in ("conv", "depthwise_conv"):
        kernel, stride = schema.pair(layer.kernel), schema.pair(layer.stride)
        patches = windows(x, kernel, stride, window_pads(layer, x, kernel, stride), 0.0)
        weights = params["kernel"].astype(x.dtype)
        if layer.type == "conv":
            out = (columns(patches) @ kernel_matrix(weights)).reshape(patches.shape[:3] + weights.shape[-1:])
        else:
            out = np.einsum("nhwcij,ijcm->nhwcm", patches, weights, optimize=True)
            out = out.reshape(out.shape[:3] + (-1,))
        if "bias" in params:
            out = out + params["bias"]
        return activate(out, layer.activation)
    kernel = schema.pair(layer.pool)
    stride = schema.pair(layer.stride if layer.stride is not None else layer.pool)
    pads = window_pads(layer, x, kernel, stride)
    if layer.type == "max_pool":
        return windows(x, kernel, stride, pads, -np.inf).max(axis=(-2, -1))
    total = windows(x, kernel, stride, pads, 0.0).sum(axis=(-2, -1))
    count = windows(np.ones_like(x[:1, ..., :1]), kernel, stride, pads, 0.0).sum(axis=(-2, -1))
    return total / count


def apply_layer(node: Node, x: np.ndarray, weights: NeutralWeights) -> np.ndarray:
    """One non-residual layer in inference mode."""
    layer, params = node.layer, weights.get(node.name, {})
    kind = layer.type
    if kind in ("conv", "depthwise_conv", "max_pool", "avg_pool"):
        return _window_layer(layer, x, params)
    if kind == "dense":
        out = x @ params["kernel"].astype(x.dtype)
        return activate(out + params["bias"] if "bias" in params else out, layer.activation)
    if kind == "batch_norm":
        scale = params["gamma"] / np.sqrt(params["moving_variance"].astype(x.dtype) + layer.epsilon)
        return (x - params["moving_mean"]) * scale + params["beta"]
    if kind == "activation":
        return activate(x, layer.function)
    if kind == "flatten":
        return x.reshape(x.shape[0], -1)
    if kind in ("global_avg_pool", "global_max_pool"):
        reduce = np.mean if kind == "global_avg_pool" else np.max
        return reduce(x, axis=(1, 2), keepdims=layer.keepdims)
    if kind == "dropout":
        return x
    raise ValueError(f"no reference rule for layer type '{kind}'")


def _run(nodes: tuple[Node, ...], x: np.ndarray, weights: NeutralWeights, outputs: dict[str, np.ndarray] | None) -> np.ndarray:
    for node in nodes:
        x = x + _run(node.children, x, weights, outputs) if node.children else apply_layer(node, x, weights)
        if outputs is not None:
            outputs[node.name] = x
    return x


def forward(network: Network, weights: NeutralWeights, images: np.ndarray) -> np.ndarray:
    """Logits of ``network`` for NHWC ``images`` (float64)."""
    return _run(network.nodes, images.astype(np.float64), weights, None)


def layer_outputs(network: Network, weights: NeutralWeights, images: np.ndarray) -> dict[str, np.ndarray]:
    """Every layer's output (channels-last, float64), keyed by layer name, in execution order."""
    outputs: dict[str, np.ndarray] = {}
    _run(network.nodes, images.astype(np.float64), weights, outputs)
    return outputs
