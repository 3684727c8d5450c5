"""Neutral weights into a PyTorch network and back (an exact round trip), and its parameter counts."""

from __future__ import annotations

import numpy as np
import torch

from harness.neutral import channels_first as cf
from harness.neutral.channels_first import BATCH_NORM_TENSORS
from harness.framework import NeutralWeights, ParamCount
from harness.neutral.weights import check_complete
from harness_torch.layers import NeutralNet


NON_TRAINABLE_BUFFERS = ("running_mean", "running_var")
"""Buffers counted as non-trainable parameters (BN moving statistics); ``num_batches_tracked``
and any other buffer are not parameters."""


def _set(tensor: torch.Tensor, array: np.ndarray) -> None:
    with torch.no_grad():
        tensor.copy_(torch.from_numpy(np.ascontiguousarray(array)).to(dtype=tensor.dtype))


def _get(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy().copy()


def load(model: NeutralNet, weights: NeutralWeights) -> None:
    """Set every weighted layer of ``model`` from ``weights`` (neutral layout, checked complete)."""
    network = model.network
    check_complete(network, weights)
    for node in network.walk():
        if node.name not in weights:
            continue
        module, tensors, order = model.layers[node.name], weights[node.name], model.plan.orders[node.name]
        if node.type == "conv":
            _set(module.weight, cf.conv_kernel_to_native(tensors["kernel"]))
        elif node.type == "depthwise_conv":
            _set(module.weight, cf.depthwise_kernel_to_native(tensors["kernel"]))
        elif node.type == "dense":
            _set(module.weight, cf.dense_kernel_to_out_in(cf.dense_kernel_to_native_order(tensors["kernel"], order)))
        if node.type == "batch_norm":
            for neutral, native in BATCH_NORM_TENSORS.items():
                _set(getattr(module, native), cf.features_to_native(tensors[neutral], order.inputs))
        elif "bias" in tensors:
            _set(module.bias, cf.features_to_native(tensors["bias"], order.outputs))


def export(model: NeutralNet) -> NeutralWeights:
    """Every weighted layer's tensors in the neutral layout."""
    weights: NeutralWeights = {}
    for node in model.network.walk():
        if node.type not in ("conv", "depthwise_conv", "dense", "batch_norm"):
            continue
        module = model.layers[node.name]
        names = BATCH_NORM_TENSORS.values() if node.type == "batch_norm" else ("weight", "bias")
        native = {name: _get(getattr(module, name)) for name in names if getattr(module, name) is not None}
        weights[node.name] = cf.torch_layer_to_neutral(node, native, model.plan.orders[node.name])
    return weights


def count_params(model: NeutralNet) -> dict[str, ParamCount]:
    """Trainable and non-trainable parameters per neutral layer (BN moving statistics non-trainable)."""
    counts: dict[str, ParamCount] = {}
    for node in model.network.walk():
        if node.name not in model.layers:
            counts[node.name] = ParamCount(0, 0)
            continue
        module = model.layers[node.name]
        parameters = list(module.parameters())
        buffers = [b for name, b in module.named_buffers() if name.rsplit(".", 1)[-1] in NON_TRAINABLE_BUFFERS]
        counts[node.name] = ParamCount(
            trainable=sum(p.numel() for p in parameters if p.requires_grad),
            non_trainable=sum(p.numel() for p in parameters if not p.requires_grad) + sum(b.numel() for b in buffers),
        )
    return counts
