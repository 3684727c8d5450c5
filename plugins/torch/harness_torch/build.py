"""Building a :class:`~harness_torch.layers.NeutralNet` from an expanded network."""

from __future__ import annotations

from torch import nn

from harness.neutral import channels_first
from harness.neutral.channels_first import LayoutPlan
from harness.spec import Network
from harness.spec import schema
from harness.spec.network import Traced, frozen_layers
from harness_torch.layers import ChannelsLastFlatten, Dense, GlobalPool, NeutralNet, WindowConv, WindowPool, activation_module


def bn_momentum(neutral_momentum: float) -> float:
    """PyTorch's BN momentum (weight of the new statistic) for the neutral one (weight of the old)."""
    return 1.0 - neutral_momentum


def batch_norm(layer: schema.BatchNorm, channels: int, feature_map: bool) -> nn.Module:
    """Batch norm over channels (``BatchNorm2d``) or over features of a vector (``BatchNorm1d``)."""
    kind = nn.BatchNorm2d if feature_map else nn.BatchNorm1d
    return kind(channels, eps=layer.epsilon, momentum=bn_momentum(layer.momentum), affine=True, track_running_stats=True)


def build_layer(traced: Traced, plan: LayoutPlan) -> nn.Module:
    """The module of one non-residual layer, sized from the input shape the trace gives it."""
    layer, shape = traced.node.layer, traced.input_shape
    channels = int(shape[-1])  # type: ignore[arg-type]
    kind = layer.type
    if kind in ("conv", "depthwise_conv"):
        depthwise = kind == "depthwise_conv"
        outputs = channels * layer.depth_multiplier if depthwise else layer.filters
        kernel, stride = channels_first.window(layer)
        return WindowConv(channels, outputs, kernel, stride, layer.padding,
                          groups=channels if depthwise else 1, bias=layer.use_bias, activation=layer.activation)
    if kind in ("max_pool", "avg_pool"):
        return WindowPool(kind, *channels_first.window(layer), layer.padding)
    if kind in ("global_avg_pool", "global_max_pool"):
        return GlobalPool(kind, layer.keepdims)
    if kind == "batch_norm":
        return batch_norm(layer, channels, feature_map=len(shape) == 3)
    if kind == "dropout":
        return nn.Dropout(p=layer.rate)
    if kind == "activation":
        return activation_module(layer.function)
    if kind == "flatten":
        return nn.Flatten(start_dim=1) if plan.flattens_natively(traced.node.name) else ChannelsLastFlatten()
    if kind == "dense":
        return Dense(channels, layer.units, bias=layer.use_bias, activation=layer.activation)
    raise ValueError(f"layer '{traced.node.name}': the PyTorch plugin has no module for layer type '{kind}'")


def build_model(network: Network) -> NeutralNet:
    """Every layer of ``network`` as a module under its neutral name, run in spec order."""
    plan = channels_first.layout_plan(network)
    layers = {traced.node.name: build_layer(traced, plan) for traced in network.trace if not traced.node.children}
    for name in frozen_layers(network):
        layers[name].requires_grad_(False)
    return NeutralNet(network, layers, plan)
