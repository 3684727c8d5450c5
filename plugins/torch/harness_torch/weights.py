"""Loading neutral weights into a PyTorch network and exporting them back (exact round trip)."""

from __future__ import annotations

import numpy as np
import torch

from harness.framework import NeutralWeights
from harness.weights import check_complete
from harness_torch import conventions
from harness_torch.modules import NeutralNet


def _set(tensor: torch.Tensor, array: np.ndarray) -> None:
    with torch.no_grad():
        tensor.copy_(torch.from_numpy(np.ascontiguousarray(array)).to(dtype=tensor.dtype))


def _get(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy().copy()


def load(model: NeutralNet, weights: NeutralWeights) -> None:
    """Set every weighted layer of ``model`` from ``weights`` (neutral layout, checked complete)."""
    network = model.network
    check_complete(network, weights)
    orders = conventions.feature_orders(network)
    for node in network.walk():
        if node.name not in weights:
            continue
        module, tensors, order = model.layers[node.name], weights[node.name], orders[node.name]
        if node.type == "conv":
            _set(module.weight, conventions.conv_kernel_to_native(tensors["kernel"]))
        elif node.type == "depthwise_conv":
            _set(module.weight, conventions.depthwise_kernel_to_native(tensors["kernel"]))
        elif node.type == "dense":
            _set(module.weight, conventions.dense_kernel_to_native(tensors["kernel"], order.inputs, order.outputs))
        if node.type == "batch_norm":
            for neutral, native in conventions.BATCH_NORM_TENSORS.items():
                _set(getattr(module, native), conventions.reorder_features(tensors[neutral], order.inputs))
        elif "bias" in tensors:
            _set(module.bias, conventions.reorder_features(tensors["bias"], order.outputs))


def export(model: NeutralNet) -> NeutralWeights:
    """Every weighted layer's tensors in the neutral layout."""
    network = model.network
    orders = conventions.feature_orders(network)
    weights: NeutralWeights = {}
    for node in network.walk():
        if node.type not in ("conv", "depthwise_conv", "dense", "batch_norm"):
            continue
        module, order = model.layers[node.name], orders[node.name]
        if node.type == "batch_norm":
            back = None if order.inputs is None else conventions.inverse(order.inputs)
            weights[node.name] = {
                neutral: conventions.reorder_features(_get(getattr(module, native)), back)
                for neutral, native in conventions.BATCH_NORM_TENSORS.items()
            }
            continue
        weight = _get(module.weight)
        if node.type == "conv":
            kernel = conventions.conv_kernel_from_native(weight)
        elif node.type == "depthwise_conv":
            kernel = conventions.depthwise_kernel_from_native(weight, node.layer.depth_multiplier)
        else:
            kernel = conventions.dense_kernel_from_native(weight, order.inputs, order.outputs)
        tensors = {"kernel": kernel}
        if module.bias is not None:
            back = None if order.outputs is None else conventions.inverse(order.outputs)
            tensors["bias"] = conventions.reorder_features(_get(module.bias), back)
        weights[node.name] = tensors
    return weights
