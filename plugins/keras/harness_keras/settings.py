"""Effective settings: every hyperparameter read back from the built Keras objects.

Values are read from the layers, the optimizer and the loss as Keras holds them (``get_config``
and attributes), never copied from the spec, so a lost or mistranslated value shows up.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from harness.framework import EffectiveSettings, Setting, initializer_setting
from harness.neutral.shapes import resolve_padding
from harness.spec import Network, schema
from harness.spec.network import Traced
from harness.spec.schema import InitFile
from harness_keras.backends import TENSORFLOW
from harness_keras.build import KerasNetwork, same_pads_at_any_size
from harness_keras.layers import ConstantPadding2D, PaddingExcludedAveragePooling2D
from harness_keras.runtime import BACKEND, keras, tf, thread_settings
from harness_keras.train import (
    OPTIMIZER_NEUTRAL_NAMES,
    make_loss,
    make_optimizer,
    optimizer_arguments,
)

DEFAULT_INITIALIZERS: dict[str, tuple[str, ...]] = {
    "conv": ("kernel_initializer", "bias_initializer"),
    "depthwise_conv": ("depthwise_initializer", "bias_initializer"),
    "dense": ("kernel_initializer", "bias_initializer"),
    "batch_norm": ("gamma_initializer", "beta_initializer", "moving_mean_initializer", "moving_variance_initializer"),
}
"""The Keras initialisers each layer type keeps at Keras' default (the spec names none)."""

DEFAULT_NOTE = "Keras' default; the spec names none"


def _float32(value: Any) -> Any:
    """A float as float32 stores it, written in its shortest form (0.001, not 0.0010000000474974513)."""
    return float(str(np.float32(value))) if isinstance(value, float) else value


def _initializer_name(config: Any) -> str:
    return config["class_name"] if isinstance(config, dict) else str(config)


def _same_pixels(traced: Traced, kernel: tuple[int, int], stride: tuple[int, int]) -> Any:
    """The pixels TensorFlow's 'same' pads on this layer's input (known for a fixed size, and at stride 1 for any)."""
    pads = same_pads_at_any_size(kernel, stride)
    if pads is None:
        pads = resolve_padding("same", traced.input_shape[0], traced.input_shape[1], kernel, stride)
    return "TensorFlow same rule, per input size" if pads is None else list(pads)


def _explicit_pixels(layers: tuple[keras.layers.Layer, ...]) -> tuple[list[int], str]:
    """The pixels a padding layer (or a padding-excluding average pool) adds, and how."""
    first = layers[0]
    if isinstance(first, keras.layers.ZeroPadding2D):
        (top, bottom), (left, right) = first.padding
        return [top, bottom, left, right], "explicit pixels filled with zeros (ZeroPadding2D), then valid"
    if isinstance(first, ConstantPadding2D):
        return list(first.pads), f"explicit pixels filled with {first.value} (ConstantPadding2D), then valid"
    if isinstance(first, PaddingExcludedAveragePooling2D):
        return list(first.pads), "explicit pixels left out of each average's count (PaddingExcludedAveragePooling2D)"
    return [0, 0, 0, 0], ""


def _window_settings(settings: EffectiveSettings, traced: Traced, layers: tuple[keras.layers.Layer, ...]) -> None:
    name, layer, main = traced.node.name, traced.node.layer, layers[-1]
    if isinstance(main, PaddingExcludedAveragePooling2D):
        kernel, stride, padding = main.pool_size, main.strides, "valid"
    else:
        config = main.get_config()
        kernel, stride, padding = tuple(config.get("kernel_size") or config["pool_size"]), tuple(config["strides"]), config["padding"]
    if padding == "same":
        pixels, note = _same_pixels(traced, kernel, stride), "TensorFlow's own rule (odd pixel bottom/right)"
        if layer.type in ("max_pool", "avg_pool"):
            note += "; padded pixels never count in the pool"
        elif layer.padding != "same":
            note += "; at stride 1 exactly the spec's explicit pixels, padded inside the convolution"
    else:
        pixels, note = _explicit_pixels(layers)
    settings.add(name, "padding", Setting(padding, neutral=layer.padding, note=note))
    settings.add(name, "padding_pixels", Setting(pixels, neutral=layer.padding, note="[top, bottom, left, right]"))
    size_name = "pool" if layer.type in ("max_pool", "avg_pool") else "kernel"
    settings.add(name, size_name, Setting(list(kernel), neutral=list(schema.pair(getattr(layer, size_name)))))
    neutral_stride = layer.stride if layer.stride is not None else layer.pool  # type: ignore[union-attr]
    settings.add(name, "stride", Setting(list(stride), neutral=list(schema.pair(neutral_stride))))


def _layer_settings(settings: EffectiveSettings, traced: Traced, layers: tuple[keras.layers.Layer, ...], init: str | InitFile) -> None:
    name, layer, main = traced.node.name, traced.node.layer, layers[-1]
    config = main.get_config()
    if layer.type in ("conv", "depthwise_conv", "max_pool", "avg_pool"):
        _window_settings(settings, traced, layers)
    if layer.type in ("conv", "depthwise_conv", "dense"):
        settings.add(name, "activation", Setting(config["activation"], neutral=layer.activation))
        settings.add(name, "use_bias", Setting(config["use_bias"], neutral=layer.use_bias))
    if layer.type == "depthwise_conv":
        settings.add(name, "depth_multiplier", Setting(config["depth_multiplier"], neutral=layer.depth_multiplier))
    if layer.type == "batch_norm":
        settings.add(name, "momentum", Setting(_float32(main.momentum), neutral=layer.momentum,
                                               note="weight of the old statistic (Keras' convention is the neutral one)"))
        settings.add(name, "epsilon", Setting(_float32(main.epsilon), neutral=layer.epsilon))
    if layer.type == "dropout":
        settings.add(name, "rate", Setting(main.rate, neutral=layer.rate))
    if layer.type == "activation":
        settings.add(name, "function", Setting(config["activation"], neutral=layer.function))
    for initializer in DEFAULT_INITIALIZERS.get(layer.type, ()):
        settings.add(name, initializer, initializer_setting(init, _initializer_name(config[initializer]), DEFAULT_NOTE))


def _optimizer_settings(settings: EffectiveSettings, optimizer_spec: schema.Optimizer, optimizer: keras.optimizers.Optimizer) -> None:
    config = optimizer.get_config()
    settings.add("optimizer", "class", Setting(type(optimizer).__name__, neutral=optimizer_spec.name))
    neutral = optimizer_spec.model_dump()
    for keras_name, passed in optimizer_arguments(optimizer_spec)[1].items():
        neutral_name = OPTIMIZER_NEUTRAL_NAMES.get(keras_name, keras_name)
        fixed = neutral_name not in neutral  # fixed by the neutral convention, not written in specs
        settings.add("optimizer", keras_name, Setting(
            _float32(config[keras_name]), neutral=passed if fixed else neutral[neutral_name],
            note="fixed by the neutral convention" if fixed else "",
        ))


def _loss_settings(settings: EffectiveSettings, loss: keras.losses.Loss) -> None:
    config = loss.get_config()
    settings.add("loss", "class", Setting(type(loss).__name__, neutral="cross_entropy"))
    settings.add("loss", "from_logits", Setting(config["from_logits"], neutral=True))
    settings.add("loss", "reduction", Setting(config["reduction"], neutral="mean over the batch"))


def _tensorflow_settings(settings: EffectiveSettings) -> None:
    from tensorflow.python.framework import (
        config as tf_config,  # the only read-back of op determinism
    )

    threading = tf.config.threading
    settings.add("runtime", "op_determinism", Setting(
        tf_config.is_op_determinism_enabled(), note="tf.config.experimental.enable_op_determinism"))
    settings.add("runtime", "intra_op_threads", Setting(threading.get_intra_op_parallelism_threads()))
    settings.add("runtime", "inter_op_threads", Setting(threading.get_inter_op_parallelism_threads()))
    onednn = os.environ.get("TF_ENABLE_ONEDNN_OPTS")
    settings.add("runtime", "onednn_opts", Setting(
        onednn if onednn is not None else "on", default=onednn is None,
        note="TensorFlow's oneDNN kernels on x86 CPUs (TF_ENABLE_ONEDNN_OPTS); may change float round-off",
    ))


def _runtime_settings(settings: EffectiveSettings, seed: int) -> None:
    settings.add("runtime", "backend", Setting(keras.backend.backend(), note="KERAS_BACKEND, read on Keras' first import"))
    settings.add("runtime", "seed", Setting(seed, neutral=seed, note="keras.utils.set_random_seed"))
    settings.add("runtime", "floatx", Setting(keras.config.floatx(), neutral="float32"))
    if BACKEND == TENSORFLOW:
        _tensorflow_settings(settings)
    else:
        for name, value in thread_settings().items():
            settings.add("runtime", name, Setting(value))


def effective_settings(built: KerasNetwork, network: Network, seed: int) -> EffectiveSettings:
    """Every layer's, the optimizer's, the loss's and the runtime's settings as Keras holds them."""
    built.sync_variables()  # the optimizer's learning rate is a variable
    settings = EffectiveSettings()
    for traced in network.trace:
        if not traced.node.children:
            _layer_settings(settings, traced, built.groups[traced.node.name], network.spec.train.init)
    optimizer = getattr(built.model, "optimizer", None)
    if optimizer is None:  # not compiled yet: the optimizer prepare_training would create
        optimizer = make_optimizer(network.spec.train.optimizer)
    _optimizer_settings(settings, network.spec.train.optimizer, optimizer)
    _loss_settings(settings, make_loss() if built.model.loss is None else built.model.loss)
    _runtime_settings(settings, seed)
    return settings
