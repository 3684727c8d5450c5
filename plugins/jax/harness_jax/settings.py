"""Effective settings: every hyperparameter read back from the built Flax modules and optax state.

Layer settings come from the modules as Flax holds them, the optimizer's numeric
hyperparameters from its state (``optax.inject_hyperparams``), never copied from the spec, so a
lost or mistranslated value shows up next to the neutral one.
"""

from __future__ import annotations

import os
from typing import Any

import jax
import numpy as np
from flax import nnx

from harness.framework import EffectiveSettings, Setting, initializer_setting
from harness.neutral.shapes import resolve_padding
from harness.spec import Network
from harness.spec import schema
from harness.spec.network import Traced
from harness.spec.schema import InitFile
from harness_jax import runtime
from harness_jax.build import JaxNetwork
from harness_jax.layers import Activation, Convolution, Dense, GlobalPool, Pool
from harness_jax.train import OPTIMIZER_NEUTRAL_NAMES, OPTIMIZER_NOTES, Trainer, make_optimizer

DEFAULT_NOTE = "Flax's default; the spec names none"
DEFAULT_INITIALIZERS: dict[str, dict[str, str]] = {
    "conv": {"kernel_initializer": "lecun_normal", "bias_initializer": "zeros"},
    "depthwise_conv": {"kernel_initializer": "lecun_normal", "bias_initializer": "zeros"},
    "dense": {"kernel_initializer": "lecun_normal", "bias_initializer": "zeros"},
    "batch_norm": {"gamma_initializer": "ones", "beta_initializer": "zeros",
                   "moving_mean_initializer": "zeros", "moving_variance_initializer": "ones"},
}
"""The initialisers Flax's Conv, Linear and BatchNorm apply by default (the spec names none)."""


def _float32(value: Any) -> Any:
    """A float32 number in its shortest form (0.001, not 0.0010000000474974513)."""
    return float(str(np.float32(value)))


def _padding_pixels(traced: Traced, kernel: tuple[int, int], stride: tuple[int, int]) -> Any:
    height, width = traced.input_shape[0], traced.input_shape[1]
    pads = resolve_padding(traced.node.layer.padding, height, width, kernel, stride)
    return "TensorFlow same rule, per input size" if pads is None else list(pads)


def _padding(padding: Any) -> Any:
    return padding if isinstance(padding, str) else [list(pair) for pair in padding]


def _window_settings(settings: EffectiveSettings, traced: Traced, module: Convolution | Pool) -> None:
    name, layer = traced.node.name, traced.node.layer
    if isinstance(module, Convolution):
        size_name, size, stride, padding = "kernel", module.conv.kernel_size, module.conv.strides, module.conv.padding
        neutral_stride = layer.stride
        note = "XLA's SAME is TensorFlow's rule (odd pixel bottom/right); explicit pixels as ((top, bottom), (left, right))"
    else:
        size_name, size, stride, padding = "pool", module.window, module.strides, module.padding
        neutral_stride = layer.stride if layer.stride is not None else layer.pool
        note = ("padded with -inf: a padded pixel never wins" if module.kind == "max_pool"
                else "count_include_pad=False: padded pixels left out of each average")
    settings.add(name, size_name, Setting(list(size), neutral=list(schema.pair(getattr(layer, size_name)))))
    settings.add(name, "stride", Setting(list(stride), neutral=list(schema.pair(neutral_stride))))
    settings.add(name, "padding", Setting(_padding(padding), neutral=layer.padding, note=note))
    settings.add(name, "padding_pixels", Setting(_padding_pixels(traced, tuple(size), tuple(stride)),
                                                 neutral=layer.padding, note="[top, bottom, left, right]"))


def _initializers(settings: EffectiveSettings, traced: Traced, init: str | InitFile) -> None:
    layer = traced.node.layer
    for initializer, value in DEFAULT_INITIALIZERS.get(layer.type, {}).items():
        if initializer == "bias_initializer" and not layer.use_bias:  # type: ignore[union-attr]
            continue
        settings.add(traced.node.name, initializer, initializer_setting(init, value, DEFAULT_NOTE))


def _layer_settings(settings: EffectiveSettings, traced: Traced, module: nnx.Module) -> None:
    name, layer = traced.node.name, traced.node.layer
    if isinstance(module, (Convolution, Pool)):
        _window_settings(settings, traced, module)
    if isinstance(module, Convolution):
        conv = module.conv
        settings.add(name, "activation", Setting(module.activation, neutral=layer.activation))
        settings.add(name, "use_bias", Setting(conv.use_bias, neutral=layer.use_bias))
        if layer.type == "depthwise_conv":
            settings.add(name, "feature_group_count", Setting(conv.feature_group_count, note="one group per input channel"))
            settings.add(name, "depth_multiplier", Setting(conv.out_features // conv.feature_group_count,
                                                           neutral=layer.depth_multiplier))
    if isinstance(module, Dense):
        settings.add(name, "activation", Setting(module.activation, neutral=layer.activation))
        settings.add(name, "use_bias", Setting(module.linear.use_bias, neutral=layer.use_bias))
    if isinstance(module, nnx.BatchNorm):
        settings.add(name, "momentum", Setting(_float32(module.momentum), neutral=layer.momentum,
                                               note="weight of the old statistic (Flax's convention is the neutral one)"))
        settings.add(name, "epsilon", Setting(_float32(module.epsilon), neutral=layer.epsilon))
        settings.add(name, "moving_variance_update", Setting(
            "biased batch variance", default=True, note="Flax updates the moving variance with the n batch variance, as Keras"))
    if isinstance(module, nnx.Dropout):
        settings.add(name, "rate", Setting(module.rate, neutral=layer.rate))
    if isinstance(module, Activation):
        settings.add(name, "function", Setting(module.function, neutral=layer.function))
    if isinstance(module, GlobalPool):
        settings.add(name, "keepdims", Setting(module.keepdims, neutral=layer.keepdims))
    if layer.type == "flatten":
        settings.add(name, "order", Setting("(H, W, C)", neutral="(H, W, C)", note="channels-last, flattened natively"))


def _optimizer_settings(settings: EffectiveSettings, spec: schema.Optimizer, arguments: dict[str, Any], state: Any) -> None:
    settings.add("optimizer", "class", Setting(f"optax.{spec.name if spec.name != 'momentum' else 'sgd'}",
                                               neutral=spec.name, note=OPTIMIZER_NOTES[spec.name]))
    neutral = spec.model_dump()
    held = state.hyperparams
    for argument, passed in arguments.items():
        source = OPTIMIZER_NEUTRAL_NAMES.get(argument)
        in_spec = source is not None and source in neutral
        value = _float32(held[argument]) if argument in held else passed  # booleans are static, not held
        settings.add("optimizer", argument, Setting(
            value, neutral=neutral[source] if in_spec else passed,  # type: ignore[index]
            note="" if in_spec else "fixed by the neutral convention",
        ))


def _loss_settings(settings: EffectiveSettings) -> None:
    settings.add("loss", "class", Setting("optax.softmax_cross_entropy_with_integer_labels", neutral="cross_entropy"))
    settings.add("loss", "from_logits", Setting(True, neutral=True))
    settings.add("loss", "reduction", Setting("mean", neutral="mean over the batch"))


def _runtime_settings(settings: EffectiveSettings, built: JaxNetwork, seed: int) -> None:
    settings.add("runtime", "device", Setting(str(built.device)))
    settings.add("runtime", "seed", Setting(seed, neutral=seed, note="nnx.Rngs(params=seed, dropout=seed)"))
    settings.add("runtime", "matmul_precision", Setting(jax.config.jax_default_matmul_precision,
                                                        note="full float32 (no TF32) on every device"))
    settings.add("runtime", "x64", Setting(jax.config.jax_enable_x64, neutral=False, note="float32 throughout"))
    settings.add("runtime", "xla_flags", Setting(os.environ.get("XLA_FLAGS", "")))
    settings.add("runtime", "intra_op_threads", Setting(runtime.pool_threads(),
                                                        note="XLA's CPU pool, sized by NPROC, counted from /proc"))
    settings.add("runtime", "compilation", Setting("jax.jit", note="training step and inference compiled by XLA"))


def effective_settings(built: JaxNetwork, network: Network, seed: int) -> EffectiveSettings:
    """Every layer's, the optimizer's, the loss's and the runtime's settings as Flax and optax hold them."""
    settings = EffectiveSettings()
    net = built.module()
    for traced in network.trace:
        if traced.node.children:
            continue
        _layer_settings(settings, traced, net.layers[traced.node.name])
        _initializers(settings, traced, network.spec.train.init)
    spec = network.spec.train.optimizer
    trainer: Trainer | None = built.trainer
    if trainer is None:  # not prepared yet: the optimizer prepare_training would create
        optimizer, arguments = make_optimizer(spec)
        state = optimizer.init({})  # the hyperparameters it holds do not depend on the parameters
    else:
        arguments, state = trainer.arguments, trainer.opt_state
    _optimizer_settings(settings, spec, arguments, state)
    _loss_settings(settings)
    _runtime_settings(settings, built, seed)
    return settings
