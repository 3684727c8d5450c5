"""Every hyperparameter as the Paddle plugin resolved it, read from the same functions that build
the model and the optimizer, so the report cannot drift from what runs."""

from __future__ import annotations

from harness.framework import EffectiveSettings, Setting
from harness.spec import Network
from harness.spec import schema
from harness.spec.network import Traced
from harness_paddle import runtime
from harness_paddle.conventions import (
    DATA_FORMAT,
    DROPOUT_MODE,
    LOSS_ARGUMENTS,
    OPTIMIZER_NEUTRAL_NAMES,
    OPTIMIZER_NOTES,
    FlattenOrder,
    batch_norm_arguments,
    default_initializers,
    optimizer_arguments,
    pool_window,
    window_padding,
)

NEUTRAL_FLATTEN_ORDER = "(H, W, C)"


def _padding(traced: Traced) -> Setting:
    layer = traced.node.layer
    pads = window_padding(layer, traced.input_shape)
    if pads is None:
        return Setting("same, computed from each input's size", neutral=layer.padding,
                       note="TensorFlow's rule at run time, odd pixel bottom/right")
    return Setting(list(pads), neutral=layer.padding, note="[top, bottom, left, right] pixels")


def _initializers(traced: Traced, train: schema.Train) -> dict[str, Setting]:
    defaults = default_initializers(traced.node.layer, traced.input_shape)
    if train.init == "shared":
        return {f"{tensor}_initializer": Setting("neutral weights (harness.weights)", neutral="shared") for tensor in defaults}
    return {
        f"{tensor}_initializer": Setting(value, neutral="framework", default=True, note="Paddle's default; the spec names none")
        for tensor, value in defaults.items()
    }


def _layer(traced: Traced, order: FlattenOrder, train: schema.Train) -> dict[str, Setting]:
    layer, name = traced.node.layer, traced.node.name
    kind = layer.type
    items: dict[str, Setting] = {}
    if kind in ("conv", "depthwise_conv"):
        items["padding"] = _padding(traced)
        if kind == "depthwise_conv":
            items["groups"] = Setting(int(traced.input_shape[2]), note="Conv2D with groups = input channels")  # type: ignore[arg-type]
    elif kind in ("max_pool", "avg_pool"):
        items["padding"] = _padding(traced)
        items["stride"] = Setting(list(pool_window(layer)[1]), neutral=layer.stride)
        items["padded_pixels"] = (
            Setting("ignored", note="Paddle's max pool never picks a padded pixel") if kind == "max_pool"
            else Setting("exclusive=True", note="left out of each average's count")
        )
    elif kind == "batch_norm":
        arguments = batch_norm_arguments(layer)
        items["momentum"] = Setting(arguments["momentum"], neutral=layer.momentum,
                                    note="Paddle's convention is the neutral one: weight of the old statistic")
        items["epsilon"] = Setting(arguments["epsilon"], neutral=layer.epsilon)
        items["moving_statistics"] = Setting("parameters with trainable=False", note="counted as non-trainable")
    elif kind == "dropout":
        items["rate"] = Setting(layer.rate, neutral=layer.rate)
        items["mode"] = Setting(DROPOUT_MODE, note="inverted dropout, scaled at training time")
    elif kind == "flatten":
        items["order"] = (
            Setting("(C, H, W)", neutral=NEUTRAL_FLATTEN_ORDER, note="native flatten; the next dense layer's rows are permuted")
            if name in order.native else Setting(NEUTRAL_FLATTEN_ORDER, neutral=NEUTRAL_FLATTEN_ORDER, note="transposed to channels-last first")
        )
    if kind == "dense" and name in order.inputs:
        items["kernel_rows"] = Setting("(C, H, W) order", neutral=f"{NEUTRAL_FLATTEN_ORDER} order",
                                       note="permuted on load and export (dense_rows_after_flatten)")
    return items | _initializers(traced, train)


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


def effective_settings(order: FlattenOrder, network: Network, seed: int) -> EffectiveSettings:
    """Layout, every layer's resolved settings, optimizer, loss and determinism."""
    settings = EffectiveSettings()
    settings.add("layout", "data_format", Setting(DATA_FORMAT, neutral="NHWC", note="input batches transposed NHWC -> NCHW"))
    for traced in network.trace:
        for name, setting in _layer(traced, order, network.spec.train).items():
            settings.add(traced.node.name, name, setting)
    for name, setting in _optimizer(network.spec.train.optimizer).items():
        settings.add("optimizer", name, setting)
    settings.add("loss", "class", Setting("paddle.nn.CrossEntropyLoss", neutral=network.spec.train.loss))
    for name, value in LOSS_ARGUMENTS.items():
        settings.add("loss", name, Setting(value))
    settings.add("determinism", "seed", Setting(seed, note="paddle.seed"))
    flags = runtime.determinism_flags()
    for name, wanted in runtime.GPU_DETERMINISM_FLAGS.items():
        settings.add("determinism", name, Setting(flags[name]) if flags is not None else Setting(
            "not in this build", neutral=wanted, note="CPU-only Paddle: the flag exists in CUDA builds only"))
    return settings
