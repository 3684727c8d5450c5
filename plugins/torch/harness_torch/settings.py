"""Effective settings: every hyperparameter read back from the built PyTorch objects.

Values come from the modules, the optimizer and the loss as PyTorch holds them, never copied
from the spec, so a lost or mistranslated value shows up next to the neutral one.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from harness.neutral import channels_first
from harness.neutral.channels_first import NATIVE_FLATTEN, NEUTRAL_FLATTEN, FeatureOrder
from harness.framework import EffectiveSettings, Setting, initializer_setting
from harness.neutral.shapes import resolve_padding
from harness.spec import Network
from harness.spec import schema
from harness.spec.network import Traced
from harness.spec.schema import InitFile
from harness_torch import runtime, train
from harness_torch.layers import ChannelsLastFlatten, NeutralNet, WindowConv, WindowPool

DEFAULT_NOTE = "PyTorch's default; the spec names none"
DEFAULT_INITIALIZERS: dict[str, dict[str, str]] = {
    "conv": {"kernel_initializer": "kaiming_uniform_(a=sqrt(5))", "bias_initializer": "uniform(+-1/sqrt(fan_in))"},
    "depthwise_conv": {"kernel_initializer": "kaiming_uniform_(a=sqrt(5))",
                       "bias_initializer": "uniform(+-1/sqrt(fan_in))"},
    "dense": {"kernel_initializer": "kaiming_uniform_(a=sqrt(5))", "bias_initializer": "uniform(+-1/sqrt(fan_in))"},
    "batch_norm": {"gamma_initializer": "ones", "beta_initializer": "zeros",
                   "moving_mean_initializer": "zeros", "moving_variance_initializer": "ones"},
}
"""The initialisers PyTorch applies to each layer type (the spec names none)."""

SIZE_AGNOSTIC_PIXELS = "TensorFlow same rule, per input size"


def _describe_activation(module: nn.Module) -> str:
    if isinstance(module, nn.Softmax):
        return f"Softmax(dim={module.dim})"
    return type(module).__name__


def _pixels(traced: Traced, kernel: tuple[int, int], stride: tuple[int, int]) -> Any:
    height, width = traced.input_shape[0], traced.input_shape[1]
    pads = resolve_padding(traced.node.layer.padding, height, width, kernel, stride)
    return SIZE_AGNOSTIC_PIXELS if pads is None else list(pads)


def _padding_method(module: nn.Module, pixels: Any) -> str:
    if isinstance(module, WindowPool):
        fill = "-inf, then max_pool2d" if module.kind == "max_pool" else "zeros, window sum / count of real pixels"
        return "none" if pixels == [0, 0, 0, 0] else f"F.pad with {fill}"
    if pixels == [0, 0, 0, 0]:
        return "none"
    if isinstance(pixels, list) and channels_first.is_symmetric(tuple(pixels)):  # type: ignore[arg-type]
        return f"conv2d padding=({pixels[0]}, {pixels[2]})"
    if isinstance(pixels, list):
        return "F.pad (asymmetric), then conv2d padding=0"
    return "resolved per input size: conv2d padding when symmetric, else F.pad"


def _window_settings(settings: EffectiveSettings, traced: Traced, module: WindowConv | WindowPool) -> None:
    name, layer = traced.node.name, traced.node.layer
    if isinstance(module, WindowConv):
        size_name, kernel, stride = "kernel", tuple(module.kernel_size), tuple(module.stride)
        neutral_stride = layer.stride
    else:
        size_name, kernel, stride = "pool", module.pool, module.stride
        neutral_stride = layer.stride if layer.stride is not None else layer.pool
    pixels = _pixels(traced, kernel, stride)  # type: ignore[arg-type]
    settings.add(name, size_name, Setting(list(kernel), neutral=list(schema.pair(getattr(layer, size_name)))))
    settings.add(name, "stride", Setting(list(stride), neutral=list(schema.pair(neutral_stride))))
    settings.add(name, "padding", Setting(_padding_method(module, pixels), neutral=layer.padding,
                                          note="TensorFlow's rule for same, padded explicitly"))
    settings.add(name, "padding_pixels", Setting(pixels, neutral=layer.padding, note="[top, bottom, left, right]"))


def _layer_settings(settings: EffectiveSettings, traced: Traced, module: nn.Module,
                    order: FeatureOrder, init: str | InitFile) -> None:
    name, layer = traced.node.name, traced.node.layer
    kind = layer.type
    if isinstance(module, (WindowConv, WindowPool)):
        _window_settings(settings, traced, module)
    if kind in ("conv", "depthwise_conv", "dense"):
        settings.add(name, "activation", Setting(_describe_activation(module.activation), neutral=layer.activation))
        settings.add(name, "use_bias", Setting(module.bias is not None, neutral=layer.use_bias))
    if kind == "depthwise_conv":
        settings.add(name, "groups", Setting(module.groups, note="one group per input channel"))
        settings.add(name, "depth_multiplier", Setting(module.out_channels // module.groups,
                                                       neutral=layer.depth_multiplier))
    if kind == "dense" and order.inputs is not None:
        settings.add(name, "input_rows", Setting(f"{NATIVE_FLATTEN} order", neutral=f"{NEUTRAL_FLATTEN} order",
                                                 note="kernel rows permuted on load and export"))
    if kind == "dense" and order.outputs is not None:
        settings.add(name, "output_columns", Setting(f"{NATIVE_FLATTEN} order", neutral=f"{NEUTRAL_FLATTEN} order",
                                                     note="ends a residual block on a flattened vector: kernel "
                                                          "columns and bias permuted on load and export"))
    if kind == "batch_norm":
        settings.add(name, "momentum", Setting(module.momentum, neutral=layer.momentum, convention="one_minus",
                                               note="PyTorch weights the new statistic: 1 - neutral"))
        settings.add(name, "epsilon", Setting(module.eps, neutral=layer.epsilon))
        settings.add(name, "moving_variance_update", Setting(
            "unbiased batch variance", default=True,
            note="PyTorch updates the running variance with the n-1 batch variance (Keras: n)"))
    if kind == "dropout":
        settings.add(name, "rate", Setting(module.p, neutral=layer.rate))
    if kind == "activation":
        settings.add(name, "function", Setting(_describe_activation(module), neutral=layer.function))
    if kind in ("global_avg_pool", "global_max_pool"):
        settings.add(name, "keepdims", Setting(module.keepdims, neutral=layer.keepdims))
    if kind == "flatten" and isinstance(module, ChannelsLastFlatten):
        settings.add(name, "order", Setting(NEUTRAL_FLATTEN, neutral=NEUTRAL_FLATTEN,
                                            note="permuted to channels-last first: no dense layer follows to absorb the order"))
    elif kind == "flatten":
        settings.add(name, "order", Setting(NATIVE_FLATTEN, neutral=NEUTRAL_FLATTEN,
                                            note="flattens natively; the output is reported in (H, W, C) order"))
    for initializer, value in DEFAULT_INITIALIZERS.get(kind, {}).items():
        if initializer != "bias_initializer" or layer.use_bias:
            settings.add(name, initializer, initializer_setting(init, value, DEFAULT_NOTE))


def _neutral_value(spec: schema.Optimizer, argument: str) -> tuple[Any, bool]:
    """The neutral value behind a PyTorch optimizer argument, and whether the spec holds it."""
    source = train.OPTIMIZER_NEUTRAL_NAMES.get(argument)
    values = spec.model_dump()
    if isinstance(source, tuple):
        return [values[field] for field in source], True
    if source is not None and source in values:
        return values[source], True
    return None, False


def _optimizer_settings(settings: EffectiveSettings, spec: schema.Optimizer, optimizer: torch.optim.Optimizer) -> None:
    settings.add("optimizer", "class", Setting(type(optimizer).__name__, neutral=spec.name,
                                               note=train.OPTIMIZER_NOTES[spec.name]))
    _, passed = train.optimizer_arguments(spec)
    for argument in passed:
        value = optimizer.defaults[argument]
        neutral, in_spec = _neutral_value(spec, argument)
        settings.add("optimizer", argument, Setting(
            list(value) if isinstance(value, tuple) else value,
            neutral=neutral if in_spec else passed[argument],
            note="" if in_spec else "fixed by the neutral convention",
        ))


def _loss_settings(settings: EffectiveSettings, loss: nn.CrossEntropyLoss) -> None:
    settings.add("loss", "class", Setting(type(loss).__name__, neutral="cross_entropy"))
    settings.add("loss", "from_logits", Setting(True, neutral=True, note="CrossEntropyLoss takes logits"))
    settings.add("loss", "reduction", Setting(loss.reduction, neutral="mean over the batch"))
    settings.add("loss", "label_smoothing", Setting(loss.label_smoothing, neutral=0.0))


def runtime_settings(settings: EffectiveSettings, device: str, seed: int) -> None:
    """Seed, determinism, float precision and threads as PyTorch holds them."""
    settings.add("runtime", "device", Setting(device))
    settings.add("runtime", "seed", Setting(seed, neutral=seed, note="torch.manual_seed"))
    settings.add("runtime", "deterministic_algorithms", Setting(torch.are_deterministic_algorithms_enabled()))
    settings.add("runtime", "cudnn_deterministic", Setting(torch.backends.cudnn.deterministic))
    settings.add("runtime", "cudnn_benchmark", Setting(torch.backends.cudnn.benchmark))
    for operation, precision in runtime.float32_precision().items():
        settings.add("runtime", f"{operation}_fp32_precision", Setting(precision, note="ieee: no TF32 on GPUs"))
    settings.add("runtime", "dtype", Setting(str(torch.get_default_dtype()).removeprefix("torch."), neutral="float32"))
    settings.add("runtime", "intra_op_threads", Setting(torch.get_num_threads()))
    settings.add("runtime", "inter_op_threads", Setting(torch.get_num_interop_threads()))


def effective_settings(model: NeutralNet, network: Network, device: str, seed: int) -> EffectiveSettings:
    """Every layer's, the optimizer's, the loss's and the runtime's settings as PyTorch holds them."""
    settings = EffectiveSettings()
    for traced in network.trace:
        if not traced.node.children:
            _layer_settings(settings, traced, model.layers[traced.node.name], model.plan.orders[traced.node.name],
                            network.spec.train.init)
    spec = network.spec.train.optimizer
    # A network without parameters still reports the optimizer it would be trained with.
    parameters = list(model.parameters()) or [nn.Parameter(torch.empty(0))]
    _optimizer_settings(settings, spec, train.make_optimizer(parameters, spec))
    _loss_settings(settings, train.make_loss())
    runtime_settings(settings, device, seed)
    return settings
