"""PyTorch modules for the neutral layers, and the network that runs them in spec order.

Every window layer resolves its padding from the size of the tensor it actually receives, so
the same module serves fixed and size-agnostic inputs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from harness.neutral import channels_first
from harness.neutral.channels_first import LayoutPlan
from harness.neutral.shapes import Pads
from harness.spec import Network, Node
from harness.spec.network import frozen_layers
from harness.spec import schema

MAX_POOL_FILL = float("-inf")
"""Max pooling pads with -inf so that padded pixels never win."""


def activation_module(name: schema.ActivationName) -> nn.Module:
    """The module for a neutral activation; softmax runs over the channel axis (dim 1 in NCHW)."""
    modules: dict[str, Any] = {
        "relu": nn.ReLU,
        "relu6": nn.ReLU6,
        "sigmoid": nn.Sigmoid,
        "tanh": nn.Tanh,
        "softmax": lambda: nn.Softmax(dim=1),
        "linear": nn.Identity,
    }
    return modules[name]()


def pad(x: torch.Tensor, pads: Pads, value: float = 0.0) -> torch.Tensor:
    """Pad an NCHW tensor by ``(top, bottom, left, right)`` pixels filled with ``value``."""
    return F.pad(x, channels_first.last_axis_first(pads), value=value)


class WindowConv(nn.Conv2d):
    """A conv (``groups=1``) or depthwise conv (``groups=in_channels``) with neutral padding
    and its activation fused, as the neutral layer defines its output."""

    def __init__(self, in_channels: int, out_channels: int, kernel: tuple[int, int], stride: tuple[int, int],
                 padding: schema.Padding, groups: int, bias: bool, activation: schema.ActivationName) -> None:
        super().__init__(in_channels, out_channels, kernel, stride=stride, padding=0, groups=groups, bias=bias)
        self.neutral_padding = padding
        self.activation = activation_module(activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = channels_first.run_time_pads(self.neutral_padding, x.shape[2], x.shape[3], self.kernel_size, self.stride)
        if channels_first.is_symmetric(pads):
            symmetric = (pads[0], pads[2])
        else:
            x, symmetric = pad(x, pads), (0, 0)
        return self.activation(F.conv2d(x, self.weight, self.bias, self.stride, symmetric, self.dilation, self.groups))


class WindowPool(nn.Module):
    """Max or average pooling in which padded pixels never count: max ignores them, the
    average leaves them out of each window's count (TensorFlow's ``same`` rule, for every padding)."""

    def __init__(self, kind: str, pool: tuple[int, int], stride: tuple[int, int], padding: schema.Padding) -> None:
        super().__init__()
        self.kind = kind
        self.pool = pool
        self.stride = stride
        self.neutral_padding = padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = channels_first.run_time_pads(self.neutral_padding, x.shape[2], x.shape[3], self.pool, self.stride)
        padded = any(pads)
        if self.kind == "max_pool":
            source = pad(x, pads, MAX_POOL_FILL) if padded else x
            return F.max_pool2d(source, self.pool, self.stride)
        if not padded:
            return F.avg_pool2d(x, self.pool, self.stride)
        total = F.avg_pool2d(pad(x, pads), self.pool, self.stride)
        real_pixels = pad(x.new_ones((1, 1) + tuple(x.shape[2:])), pads)
        coverage = F.avg_pool2d(real_pixels, self.pool, self.stride)
        return total / coverage

    def extra_repr(self) -> str:
        return f"{self.kind}, pool={self.pool}, stride={self.stride}, padding={self.neutral_padding!r}"


class GlobalPool(nn.Module):
    """Average or max over the whole feature map, keeping a 1x1 map when ``keepdims``."""

    def __init__(self, kind: str, keepdims: bool) -> None:
        super().__init__()
        self.kind = kind
        self.keepdims = keepdims

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "global_avg_pool":
            return x.mean(dim=(2, 3), keepdim=self.keepdims)
        return x.amax(dim=(2, 3), keepdim=self.keepdims)

    def extra_repr(self) -> str:
        return f"{self.kind}, keepdims={self.keepdims}"


class ChannelsLastFlatten(nn.Module):
    """Flatten in (H, W, C) order: for a flatten that no dense layer follows (whose rows could
    otherwise absorb the order), e.g. one that produces the logits itself."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(0, 2, 3, 1).flatten(start_dim=1)


class Dense(nn.Linear):
    """A fully connected layer with its activation fused."""

    def __init__(self, in_features: int, units: int, bias: bool, activation: schema.ActivationName) -> None:
        super().__init__(in_features, units, bias=bias)
        self.activation = activation_module(activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activation(super().forward(x))


class LayerTable(nn.Module):
    """Layer modules under their neutral names, whatever they are (even ``update`` or ``items``,
    which ``nn.ModuleDict`` would refuse as clashing with its own attributes)."""

    def __init__(self, layers: dict[str, nn.Module]) -> None:
        super().__init__()
        for name, module in layers.items():
            self._modules[name] = module

    def __getitem__(self, name: str) -> nn.Module:
        return self._modules[name]  # type: ignore[return-value]

    def __contains__(self, name: object) -> bool:
        return name in self._modules

    def names(self) -> Iterator[str]:
        return iter(self._modules)


class NeutralNet(nn.Module):
    """A network built from its spec: NCHW images in, logits out. A residual node adds its
    input to the output of its block; it has no module of its own. ``plan`` holds the native
    feature orders that weights and outputs are converted with."""

    def __init__(self, network: Network, layers: dict[str, nn.Module], plan: LayoutPlan) -> None:
        super().__init__()
        self.network = network
        self.plan = plan
        self.layers = LayerTable(layers)
        self.frozen = [layers[name] for name in frozen_layers(network) if isinstance(layers[name], nn.modules.batchnorm._BatchNorm)]

    def train(self, mode: bool = True) -> NeutralNet:
        """Training mode, except for frozen batch norms, which stay on their moving statistics."""
        super().train(mode)
        for module in self.frozen:
            module.eval()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.run(self.network.nodes, x, None)

    def run(self, nodes: tuple[Node, ...], x: torch.Tensor, outputs: dict[str, torch.Tensor] | None) -> torch.Tensor:
        """Apply ``nodes`` in order, recording each layer's output in ``outputs`` when given."""
        for node in nodes:
            x = x + self.run(node.children, x, outputs) if node.children else self.layers[node.name](x)
            if outputs is not None:
                outputs[node.name] = x
        return x
