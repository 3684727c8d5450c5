"""Every hyperparameter as the Paddle plugin resolved it, read back from the built Paddle layers
and from the same functions that build the optimizer and the loss, so the report cannot drift
from what runs."""

from __future__ import annotations

import os
from typing import Any

from harness.neutral import channels_first
from harness.neutral.channels_first import NATIVE_FLATTEN, NEUTRAL_FLATTEN, FeatureOrder
from harness.framework import EffectiveSettings, Setting, initializer_setting
from harness.spec import Network, schema
from harness.spec.network import Traced
from harness_paddle import runtime
from harness_paddle.build import DATA_FORMAT, PaddleNetwork
from harness_paddle.layers import ChannelsLastFlatten, Unit
from harness_paddle.openmp import OPENMP_ENVIRONMENT
from harness_paddle.train import (
    LOSS_ARGUMENTS,
    OPTIMIZER_NEUTRAL_NAMES,
    OPTIMIZER_NOTES,
    optimizer_arguments,
)

SIZE_AGNOSTIC_PIXELS = "TensorFlow same rule, per input size"
PIXELS_NOTE = "[top, bottom, left, right]"


def default_initializers(layer: schema.Layer, input_shape: tuple[int | None, ...]) -> dict[str, str]:
    """Paddle's own initialiser of each neutral tensor of ``layer`` (what ``init: framework`` uses)."""
    channels = input_shape[-1]
    if layer.type in ("conv", "depthwise_conv"):
        kh, kw = schema.pair(layer.kernel)
        values = {"kernel": f"Normal(mean=0, std=sqrt(2 / {kh * kw * channels}))"}
        return values | ({"bias": "Constant(0)"} if layer.use_bias else {})
    if layer.type == "dense":
        return {"kernel": "XavierUniform"} | ({"bias": "Constant(0)"} if layer.use_bias else {})
    if layer.type == "batch_norm":
        return {"gamma": "Constant(1)", "beta": "Constant(0)", "moving_mean": "Constant(0)", "moving_variance": "Constant(1)"}
    return {}


def _describe_activation(activation: Any) -> str:
    if activation is None:
        return "none (linear)"
    if type(activation).__name__ == "Softmax":
        return f"Softmax(axis={activation._axis})"
    return type(activation).__name__


def _window(traced: Traced, unit: Unit) -> dict[str, Setting]:
    """Window, stride and padding of a conv or pool as the Paddle layer holds them (Conv2D keeps
    them in private attributes, the only place Paddle exposes them)."""
    layer, core = traced.node.layer, unit.core
    if layer.type in ("conv", "depthwise_conv"):
        size_name, size, stride = "kernel", list(core._kernel_size), list(core._stride)
        pads = list(core._padding) if unit.pad is None else None
        where = "Conv2D"
    else:
        size_name, size, stride = "pool", list(core.pool), list(core.stride)
        pads = None if core.pads is None else list(core.pads)
        where = "max_pool2d" if core.mode == "max" else "avg_pool2d"
    neutral_size, neutral_stride = channels_first.window(layer)
    if pads is None:
        method = ("SamePadding2D per input size, then Conv2D padding=0" if where == "Conv2D"
                  else f"same, computed per input size, passed to {where}")
    else:
        method = "none" if not any(pads) else f"{where} padding={pads}"
    return {
        size_name: Setting(size, neutral=list(neutral_size)),
        "stride": Setting(stride, neutral=list(neutral_stride)),
        "padding": Setting(method, neutral=layer.padding, note="TensorFlow's rule for same, odd pixel bottom/right"),
        "padding_pixels": Setting(SIZE_AGNOSTIC_PIXELS if pads is None else pads, neutral=layer.padding, note=PIXELS_NOTE),
    }


def _initializers(traced: Traced, train: schema.Train) -> dict[str, Setting]:
    defaults = default_initializers(traced.node.layer, traced.input_shape)
    return {f"{tensor}_initializer": initializer_setting(train.init, value, "Paddle's default; the spec names none")
            for tensor, value in defaults.items()}


def _flat_orders(kind: str, order: FeatureOrder, unit: Unit) -> dict[str, Setting]:
    items: dict[str, Setting] = {}
    if kind == "flatten":
        items["order"] = (
            Setting(NEUTRAL_FLATTEN, neutral=NEUTRAL_FLATTEN, note="transposed to channels-last first: no dense layer follows")
            if isinstance(unit.core, ChannelsLastFlatten)
            else Setting(NATIVE_FLATTEN, neutral=NEUTRAL_FLATTEN, note="native flatten; a later dense layer's rows are permuted")
        )
    if kind == "dense" and order.inputs is not None:
        items["input_rows"] = Setting(f"{NATIVE_FLATTEN} order", neutral=f"{NEUTRAL_FLATTEN} order",
                                      note="kernel rows permuted on load and export")
    if kind == "dense" and order.outputs is not None:
        items["output_columns"] = Setting(f"{NATIVE_FLATTEN} order", neutral=f"{NEUTRAL_FLATTEN} order",
                                          note="ends a residual block on a flattened vector: kernel columns and bias permuted")
    return items


def _layer(traced: Traced, unit: Unit, order: FeatureOrder, train: schema.Train) -> dict[str, Setting]:
    layer = traced.node.layer
    kind, core = layer.type, unit.core
    items: dict[str, Setting] = {}
    if kind in ("conv", "depthwise_conv", "max_pool", "avg_pool"):
        items |= _window(traced, unit)
    if kind in ("conv", "depthwise_conv", "dense"):
        items["activation"] = Setting(_describe_activation(unit.activation), neutral=layer.activation)
        items["use_bias"] = Setting(core.bias is not None, neutral=layer.use_bias)
    if kind == "depthwise_conv":
        items["groups"] = Setting(core._groups, note="Conv2D with groups = input channels")
        items["depth_multiplier"] = Setting(core._out_channels // core._groups, neutral=layer.depth_multiplier)
    if kind in ("max_pool", "avg_pool"):
        items["padded_pixels"] = (
            Setting("ignored", note="Paddle's max pool never picks a padded pixel") if kind == "max_pool"
            else Setting("exclusive=True", note="left out of each average's count")
        )
    elif kind == "batch_norm":
        items["momentum"] = Setting(core._momentum, neutral=layer.momentum,
                                    note="Paddle's convention is the neutral one: weight of the old statistic")
        items["epsilon"] = Setting(core._epsilon, neutral=layer.epsilon)
        items["moving_statistics"] = Setting("parameters with trainable=False", note="counted as non-trainable")
    elif kind == "dropout":
        items["rate"] = Setting(core.p, neutral=layer.rate)
        items["mode"] = Setting(core.mode, note="inverted dropout, scaled at training time")
    elif kind == "activation":
        items["function"] = Setting(_describe_activation(core), neutral=layer.function)
    elif kind in ("global_avg_pool", "global_max_pool"):
        items["keepdims"] = Setting(core.keepdims, neutral=layer.keepdims)
    return items | _flat_orders(kind, order, unit) | _initializers(traced, train)


def _optimizer(optimizer: schema.Optimizer) -> dict[str, Setting]:
    cls, arguments = optimizer_arguments(optimizer)
    items = {"class": Setting(f"paddle.optimizer.{cls.__name__}", neutral=optimizer.name)}
    neutral_values = optimizer.model_dump(exclude={"name"})
    for argument, value in arguments.items():
        neutral_name = OPTIMIZER_NEUTRAL_NAMES.get(argument, argument)
        note = OPTIMIZER_NOTES.get((optimizer.name, argument), "" if neutral_name in neutral_values else "fixed by the plugin")
        items[argument] = Setting(value, neutral=neutral_values.get(neutral_name), note=note)
    passed = {OPTIMIZER_NEUTRAL_NAMES.get(argument, argument) for argument in arguments}
    for neutral_name, value in neutral_values.items():
        if neutral_name not in passed:
            items[neutral_name] = Setting("not applicable", neutral=value, convention="not_applicable",
                                          note=f"paddle.optimizer.{cls.__name__} has no such term; with this value the update is the same")
    return items


def _runtime(settings: EffectiveSettings) -> None:
    """Threads, OpenMP's wait policy and oneDNN as this Paddle process runs them."""
    settings.add("runtime", "num_threads", Setting(runtime.paddle.get_flags("FLAGS_paddle_num_threads")["FLAGS_paddle_num_threads"],
                                                   note="FLAGS_paddle_num_threads, from the harness's --threads"))
    for name in OPENMP_ENVIRONMENT:
        settings.add("runtime", name, Setting(os.environ.get(name), note="set by the Paddle plugin: libiomp5's workers sleep as soon as a "
                                                   "region ends (see docs/timing.md)"))
    settings.add("runtime", "FLAGS_use_mkldnn", Setting(runtime.paddle.get_flags("FLAGS_use_mkldnn")["FLAGS_use_mkldnn"], default=True,
                                                        note="oneDNN kernels in dygraph: Paddle's default kept, turning them "
                                                             "on was slower (docs/timing.md)"))


def effective_settings(model: PaddleNetwork, network: Network, seed: int) -> EffectiveSettings:
    """Layout, every layer's resolved settings, optimizer, loss and determinism."""
    settings = EffectiveSettings()
    settings.add("layout", "data_format", Setting(DATA_FORMAT, neutral="NHWC", note="input batches transposed NHWC -> NCHW"))
    for traced in network.trace:
        name = traced.node.name
        if traced.node.children:
            continue
        for setting_name, setting in _layer(traced, model.unit(name), model.plan.orders[name], network.spec.train).items():
            settings.add(name, setting_name, setting)
    for name, setting in _optimizer(network.spec.train.optimizer).items():
        settings.add("optimizer", name, setting)
    settings.add("loss", "class", Setting("paddle.nn.CrossEntropyLoss", neutral=network.spec.train.loss))
    for name, value in LOSS_ARGUMENTS.items():
        settings.add("loss", name, Setting(value))
    settings.add("determinism", "seed", Setting(seed, note="paddle.seed"))
    _runtime(settings)
    flags = runtime.determinism_flags()
    for name, wanted in runtime.GPU_DETERMINISM_FLAGS.items():
        settings.add("determinism", name, Setting(flags[name]) if flags is not None else Setting(
            "not in this build", neutral=wanted, note="CPU-only Paddle: the flag exists in CUDA builds only"))
    return settings
