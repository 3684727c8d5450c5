"""Building a :class:`~harness_torch.modules.NeutralNet` from an expanded network."""

from __future__ import annotations

from torch import nn

from harness.spec import Network
from harness.spec import schema
from harness.spec.network import Traced
from harness_torch import conventions
from harness_torch.modules import Dense, GlobalPool, NeutralNet, WindowConv, WindowPool


def build_layer(traced: Traced) -> nn.Module:
    """The module of one non-residual layer, sized from the input shape the trace gives it."""
    layer, shape = traced.node.layer, traced.input_shape
    channels = int(shape[-1])  # type: ignore[arg-type]
    kind = layer.type
    if kind in ("conv", "depthwise_conv"):
        depthwise = kind == "depthwise_conv"
        outputs = channels * layer.depth_multiplier if depthwise else layer.filters
        return WindowConv(channels, outputs, schema.pair(layer.kernel), schema.pair(layer.stride), layer.padding,
                          groups=channels if depthwise else 1, bias=layer.use_bias, activation=layer.activation)
    if kind in ("max_pool", "avg_pool"):
        stride = layer.stride if layer.stride is not None else layer.pool
        return WindowPool(kind, schema.pair(layer.pool), schema.pair(stride), layer.padding)
    if kind in ("global_avg_pool", "global_max_pool"):
        return GlobalPool(kind, layer.keepdims)
    if kind == "batch_norm":
        return conventions.batch_norm(layer, channels, feature_map=len(shape) == 3)
    if kind == "dropout":
        return nn.Dropout(p=layer.rate)
    if kind == "activation":
        return conventions.activation(layer.function)
    if kind == "flatten":
        return nn.Flatten(start_dim=1)
    if kind == "dense":
        return Dense(channels, layer.units, bias=layer.use_bias, activation=layer.activation)
    raise ValueError(f"layer '{traced.node.name}': the PyTorch plugin has no module for layer type '{kind}'")


def build_model(network: Network) -> NeutralNet:
    """Every layer of ``network`` as a module under its neutral name, run in spec order."""
    layers = {traced.node.name: build_layer(traced) for traced in network.trace if not traced.node.children}
    return NeutralNet(network, layers)
