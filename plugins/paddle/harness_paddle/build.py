"""A Paddle dygraph model built from an expanded network, keeping the neutral layer names."""

from __future__ import annotations

from typing import Any

from harness.neutral import channels_first
from harness.neutral.channels_first import LayoutPlan
from harness.spec import Network, Node
from harness.spec import schema
from harness.spec.network import Traced, frozen_layers
from harness_paddle.layers import ChannelsLastFlatten, GlobalPool2D, Pool2D, SamePadding2D, Unit
from harness_paddle.runtime import nn, paddle

DATA_FORMAT = "NCHW"
DROPOUT_MODE = "upscale_in_train"


def activation_layer(name: schema.ActivationName) -> nn.Layer | None:
    """The Paddle activation for a neutral one (None for linear); softmax is over the channels."""
    if name == "relu":
        return nn.ReLU()
    if name == "relu6":
        return nn.ReLU6()
    if name == "sigmoid":
        return nn.Sigmoid()
    if name == "tanh":
        return nn.Tanh()
    if name == "softmax":
        return nn.Softmax(axis=1)  # channels-first maps and (N, F) vectors alike
    return None


def batch_norm_arguments(layer: schema.BatchNorm) -> dict[str, Any]:
    """Paddle BatchNorm arguments: the neutral momentum and epsilon as they are."""
    return {"momentum": layer.momentum, "epsilon": layer.epsilon}


def _conv_unit(layer: schema.Conv | schema.DepthwiseConv, input_shape: tuple[int | None, ...]) -> Unit:
    channels = int(input_shape[2])  # type: ignore[arg-type]
    kernel, stride = channels_first.window(layer)
    pads = channels_first.static_pads(layer, input_shape)
    if layer.type == "conv":
        out_channels, groups = layer.filters, 1
    else:
        out_channels, groups = channels * layer.depth_multiplier, channels
    conv = nn.Conv2D(
        channels, out_channels, kernel, stride=stride, padding=list(pads) if pads is not None else 0,
        groups=groups, bias_attr=None if layer.use_bias else False, data_format=DATA_FORMAT,
    )
    pad = SamePadding2D(kernel, stride) if pads is None else None
    return Unit(conv, pad=pad, activation=activation_layer(layer.activation))


def _core_layer(traced: Traced, flatten_natively: bool) -> nn.Layer:
    layer, input_shape = traced.node.layer, traced.input_shape
    kind = layer.type
    if kind in ("max_pool", "avg_pool"):
        window, stride = channels_first.window(layer)
        return Pool2D("max" if kind == "max_pool" else "avg", window, stride, channels_first.static_pads(layer, input_shape))
    if kind == "batch_norm":
        norm = nn.BatchNorm2D if len(input_shape) == 3 else nn.BatchNorm1D
        return norm(int(input_shape[-1]), data_format=DATA_FORMAT if len(input_shape) == 3 else "NCL",  # type: ignore[arg-type]
                    **batch_norm_arguments(layer))
    if kind == "dropout":
        return nn.Dropout(p=layer.rate, mode=DROPOUT_MODE)
    if kind == "flatten":
        return nn.Flatten(start_axis=1) if flatten_natively else ChannelsLastFlatten()
    if kind == "global_avg_pool":
        return GlobalPool2D("avg", layer.keepdims)
    if kind == "global_max_pool":
        return GlobalPool2D("max", layer.keepdims)
    raise ValueError(f"the Paddle plugin has no mapping for layer type '{kind}' (layer '{traced.node.name}')")


def paddle_unit(traced: Traced, plan: LayoutPlan) -> Unit:
    """The Paddle layers one non-residual neutral layer becomes, as one :class:`Unit`."""
    layer = traced.node.layer
    if layer.type in ("conv", "depthwise_conv"):
        return _conv_unit(layer, traced.input_shape)
    if layer.type == "dense":
        linear = nn.Linear(int(traced.input_shape[0]), layer.units, bias_attr=None if layer.use_bias else False)  # type: ignore[arg-type]
        return Unit(linear, activation=activation_layer(layer.activation))
    if layer.type == "activation":
        return Unit(activation_layer(layer.function) or nn.Identity())
    return Unit(_core_layer(traced, plan.flattens_natively(traced.node.name)))


class PaddleNetwork(nn.Layer):
    """The network as one Paddle layer: a ``units`` dict keyed by neutral layer name (every
    non-residual layer, residual blocks' layers included) and the node tree that wires them;
    ``plan`` holds the native feature orders that weights and outputs are converted with.

    ``forward`` takes an NCHW batch and returns the logits; :meth:`outputs` returns every neutral
    layer's output, a residual's being the sum of its input and its block's output.
    """

    def __init__(self, network: Network) -> None:
        super().__init__()
        self.network = network
        self.plan: LayoutPlan = channels_first.layout_plan(network)
        self.units = nn.LayerDict(
            {traced.node.name: paddle_unit(traced, self.plan) for traced in network.trace if not traced.node.children}
        )
        frozen = frozen_layers(network)
        for name in frozen:
            for parameter in self.units[name].parameters():
                parameter.trainable = False
        self.frozen_batch_norms = [node.name for node in network.walk() if node.name in frozen and node.type == "batch_norm"]

    def train(self) -> None:
        """Training mode, except for frozen batch norms, which stay on their moving statistics."""
        super().train()
        for name in self.frozen_batch_norms:
            self.units[name].eval()

    def unit(self, name: str) -> Unit:
        """The Paddle layers of one (non-residual) neutral layer."""
        return self.units[name]

    def _run(self, nodes: tuple[Node, ...], x: paddle.Tensor, outputs: dict[str, paddle.Tensor] | None) -> paddle.Tensor:
        for node in nodes:
            x = x + self._run(node.children, x, outputs) if node.children else self.units[node.name](x)
            if outputs is not None:
                outputs[node.name] = x
        return x

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return self._run(self.network.nodes, x, None)

    def outputs(self, x: paddle.Tensor) -> dict[str, paddle.Tensor]:
        """Every neutral layer's output (Paddle layout), in execution order."""
        outputs: dict[str, paddle.Tensor] = {}
        self._run(self.network.nodes, x, outputs)
        return outputs
