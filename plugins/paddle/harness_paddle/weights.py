"""Neutral weights into a Paddle network and back (an exact round trip), and its parameter counts.

Conv kernels HWIO <-> OIHW; depthwise kernels ``(kh, kw, cin, mult)`` <-> ``(cin * mult, 1, kh, kw)``;
dense kernels ``(in, out)`` are Paddle's own Linear layout, their rows and columns permuted where
they read or write a natively flattened vector (:mod:`harness.neutral.channels_first`); BN gamma, beta,
mean and variance are ``weight``, ``bias``, ``_mean`` and ``_variance``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import paddle

from harness.neutral import channels_first as cf
from harness.neutral.channels_first import FeatureOrder
from harness.framework import NeutralWeights, ParamCount
from harness.spec import Node
from harness.neutral.weights import check_complete
from harness_paddle.build import PaddleNetwork

PARAMETER_NAMES: dict[str, dict[str, str]] = {
    "conv": {"kernel": "weight", "bias": "bias"},
    "depthwise_conv": {"kernel": "weight", "bias": "bias"},
    "dense": {"kernel": "weight", "bias": "bias"},
    "batch_norm": {"gamma": "weight", "beta": "bias", "moving_mean": "_mean", "moving_variance": "_variance"},
}
"""Neutral tensor name -> Paddle parameter name of the unit's core layer, per weighted layer type."""


def to_paddle_layout(node: Node, tensor: str, array: np.ndarray, order: FeatureOrder) -> np.ndarray:
    """One neutral tensor of ``node`` in Paddle's layout and the layer's native feature ``order``."""
    kind = node.type
    if kind == "conv" and tensor == "kernel":
        return cf.conv_kernel_to_native(array)
    if kind == "depthwise_conv" and tensor == "kernel":
        return cf.depthwise_kernel_to_native(array)
    if kind == "dense" and tensor == "kernel":
        return cf.dense_kernel_to_native_order(array, order)
    if kind == "dense":
        return cf.features_to_native(array, order.outputs)
    if kind == "batch_norm":
        return cf.features_to_native(array, order.inputs)
    return array


def to_neutral_layout(node: Node, tensor: str, array: np.ndarray, order: FeatureOrder) -> np.ndarray:
    """One Paddle parameter of ``node`` in the neutral layout (the inverse of :func:`to_paddle_layout`)."""
    kind = node.type
    if kind == "conv" and tensor == "kernel":
        return cf.conv_kernel_from_native(array)
    if kind == "depthwise_conv" and tensor == "kernel":
        return cf.depthwise_kernel_from_native(array, node.layer.depth_multiplier)
    if kind == "dense" and tensor == "kernel":
        return cf.dense_kernel_to_neutral_order(array, order)
    if kind == "dense":
        return cf.features_to_neutral(array, order.outputs)
    if kind == "batch_norm":
        return cf.features_to_neutral(array, order.inputs)
    return array


def _weighted_layers(model: PaddleNetwork) -> Iterator[tuple[Node, dict[str, str], Any, FeatureOrder]]:
    """Every layer that holds weights, in execution order: its node, its neutral tensor names mapped
    to the Paddle layer's attributes, that Paddle layer, and its native feature orders."""
    for node in model.network.walk():
        names = PARAMETER_NAMES.get(node.type)
        if names is not None:
            yield node, names, model.unit(node.name).core, model.plan.orders[node.name]


def load(model: PaddleNetwork, weights: NeutralWeights) -> None:
    """Set every weighted layer of ``model`` from ``weights`` (neutral layout, checked complete)."""
    check_complete(model.network, weights)
    for node, names, core, order in _weighted_layers(model):
        for tensor, array in weights[node.name].items():
            parameter = getattr(core, names[tensor])
            value = to_paddle_layout(node, tensor, np.asarray(array, dtype=paddle.get_default_dtype()), order)
            if tuple(parameter.shape) != value.shape:
                raise ValueError(f"{node.name}/{tensor}: Paddle holds shape {tuple(parameter.shape)}, "
                                 f"the neutral weights give {value.shape} after conversion")
            parameter.set_value(value)


def export(model: PaddleNetwork) -> NeutralWeights:
    """Every weighted layer's tensors in the neutral layout."""
    weights: NeutralWeights = {}
    for node, names, core, order in _weighted_layers(model):
        weights[node.name] = {
            tensor: to_neutral_layout(node, tensor, getattr(core, attribute).numpy(), order)
            for tensor, attribute in names.items()
            if getattr(core, attribute) is not None
        }
    return weights


def count_params(model: PaddleNetwork) -> dict[str, ParamCount]:
    """Trainable and non-trainable parameters per neutral layer (BN moving statistics are Paddle
    parameters with ``trainable=False``)."""
    counts: dict[str, ParamCount] = {}
    for node in model.network.walk():
        parameters = [] if node.children else model.unit(node.name).parameters()
        trainable = sum(int(p.size) for p in parameters if p.trainable)
        counts[node.name] = ParamCount(trainable, sum(int(p.size) for p in parameters) - trainable)
    return counts
