"""The one place where the neutral spec meets Keras' conventions.

* Layout: channels-last is Keras' native layout, so feature maps, flatten order (H, W, C) and
  weights need no conversion: the neutral weight layout of :mod:`harness.weights` *is* Keras'.
* Padding: ``same`` is TensorFlow's own rule (odd pixel bottom/right) and is passed as is, for
  convolutions and pools alike; TensorFlow's ``same`` pools already ignore padded pixels (max) and
  leave them out of the count (average). Explicit pixel padding becomes a padding layer before a
  ``valid`` layer: zeros for convolutions, ``-inf`` for max pools, and a padding-excluding average
  for average pools (:mod:`harness_keras.layers`).
* Batch norm: Keras' momentum is the neutral one (weight of the old statistic); momentum and
  epsilon are still always passed explicitly.
* Optimizers: every hyperparameter the spec holds is passed explicitly, never left to Keras'
  defaults; the neutral momentum SGD is Keras' SGD with momentum.
* Loss: softmax cross-entropy from logits, averaged over the batch.
* Initialisers: with ``train.init: framework`` Keras' own (Glorot-uniform kernels, zero biases,
  BN scale one, shift zero, moving mean zero, moving variance one); not passed, reported as defaults.
"""

from __future__ import annotations

from typing import Any

from harness.shapes import Pads, explicit_padding
from harness.spec import Node
from harness.spec import schema
from harness_keras.layers import ConstantPadding2D, PaddingExcludedAveragePooling2D
from harness_keras.runtime import keras

ACTIVATIONS: dict[str, str] = {
    "relu": "relu",
    "relu6": "relu6",
    "sigmoid": "sigmoid",
    "tanh": "tanh",
    "softmax": "softmax",  # Keras' softmax is over the last axis: the channels.
    "linear": "linear",
}

WEIGHT_TENSORS: dict[str, dict[str, str]] = {
    "conv": {"kernel": "kernel", "bias": "bias"},
    "depthwise_conv": {"kernel": "kernel", "bias": "bias"},
    "dense": {"kernel": "kernel", "bias": "bias"},
    "batch_norm": {"gamma": "gamma", "beta": "beta", "moving_mean": "moving_mean", "moving_variance": "moving_variance"},
}
"""Neutral tensor name -> Keras variable name, per weighted layer type (same layout, no transpose)."""

DEFAULT_INITIALIZERS: dict[str, tuple[str, ...]] = {
    "conv": ("kernel_initializer", "bias_initializer"),
    "depthwise_conv": ("depthwise_initializer", "bias_initializer"),
    "dense": ("kernel_initializer", "bias_initializer"),
    "batch_norm": ("gamma_initializer", "beta_initializer", "moving_mean_initializer", "moving_variance_initializer"),
}
"""The Keras initialisers each layer type keeps at Keras' default (the spec names none)."""

MAX_POOL_PAD_VALUE = float("-inf")
PAD_SUFFIX = ".pad"
"""Suffix of an auxiliary padding layer's name ('.' cannot occur in a neutral layer name)."""

LOSS_REDUCTION = "sum_over_batch_size"


def padding_plan(padding: schema.Padding) -> tuple[str, Pads | None]:
    """Keras ``padding`` argument and the explicit pixels to pad first (None when nothing)."""
    if padding == "same":
        return "same", None
    pads = explicit_padding(padding)
    return "valid", pads if pads and any(pads) else None


def _pool_stride(layer: schema.MaxPool | schema.AvgPool) -> tuple[int, int]:
    return schema.pair(layer.stride if layer.stride is not None else layer.pool)


def _window_layers(node: Node) -> list[keras.layers.Layer]:
    layer = node.layer
    padding, pads = padding_plan(layer.padding)
    pad_name = node.name + PAD_SUFFIX
    if layer.type == "avg_pool":
        if pads is not None:
            return [PaddingExcludedAveragePooling2D(schema.pair(layer.pool), _pool_stride(layer), pads, name=node.name)]
        return [keras.layers.AveragePooling2D(schema.pair(layer.pool), _pool_stride(layer), padding=padding, name=node.name)]
    if layer.type == "max_pool":
        main = keras.layers.MaxPooling2D(schema.pair(layer.pool), _pool_stride(layer), padding=padding, name=node.name)
        return [ConstantPadding2D(pads, MAX_POOL_PAD_VALUE, name=pad_name), main] if pads else [main]
    common: dict[str, Any] = dict(
        kernel_size=schema.pair(layer.kernel),
        strides=schema.pair(layer.stride),
        padding=padding,
        activation=ACTIVATIONS[layer.activation],
        use_bias=layer.use_bias,
        name=node.name,
    )
    if layer.type == "conv":
        main = keras.layers.Conv2D(filters=layer.filters, **common)
    else:
        main = keras.layers.DepthwiseConv2D(depth_multiplier=layer.depth_multiplier, **common)
    if pads is None:
        return [main]
    top, bottom, left, right = pads
    return [keras.layers.ZeroPadding2D(((top, bottom), (left, right)), name=pad_name), main]


def batch_norm_arguments(layer: schema.BatchNorm) -> dict[str, Any]:
    """Keras BatchNormalization arguments: the neutral momentum and epsilon as they are."""
    return {"axis": -1, "momentum": layer.momentum, "epsilon": layer.epsilon, "center": True, "scale": True}


def keras_layers(node: Node) -> list[keras.layers.Layer]:
    """The Keras layers one (non-residual) neutral layer becomes, in order; the last one
    carries the neutral name and produces the neutral layer's output."""
    layer = node.layer
    kind = layer.type
    if kind in ("conv", "depthwise_conv", "max_pool", "avg_pool"):
        return _window_layers(node)
    if kind == "batch_norm":
        return [keras.layers.BatchNormalization(name=node.name, **batch_norm_arguments(layer))]
    if kind == "dropout":
        return [keras.layers.Dropout(layer.rate, name=node.name)]
    if kind == "activation":
        return [keras.layers.Activation(ACTIVATIONS[layer.function], name=node.name)]
    if kind == "flatten":
        return [keras.layers.Flatten(data_format="channels_last", name=node.name)]
    if kind == "dense":
        return [keras.layers.Dense(layer.units, activation=ACTIVATIONS[layer.activation], use_bias=layer.use_bias, name=node.name)]
    if kind == "global_avg_pool":
        return [keras.layers.GlobalAveragePooling2D(data_format="channels_last", keepdims=layer.keepdims, name=node.name)]
    if kind == "global_max_pool":
        return [keras.layers.GlobalMaxPooling2D(data_format="channels_last", keepdims=layer.keepdims, name=node.name)]
    raise ValueError(f"the Keras plugin has no mapping for layer type '{kind}' (layer '{node.name}')")


def residual_add(node: Node) -> keras.layers.Layer:
    """The add that closes a residual block: ``input + block(input)``."""
    return keras.layers.Add(name=node.name)


def optimizer_arguments(optimizer: schema.Optimizer) -> tuple[type[keras.optimizers.Optimizer], dict[str, Any]]:
    """The Keras optimizer class for the neutral optimizer, and every hyperparameter, explicit."""
    name = optimizer.name
    if name in ("sgd", "momentum"):
        return keras.optimizers.SGD, {
            "learning_rate": optimizer.lr, "momentum": optimizer.momentum, "nesterov": optimizer.nesterov,
        }
    if name == "adam":
        return keras.optimizers.Adam, {
            "learning_rate": optimizer.lr, "beta_1": optimizer.beta1, "beta_2": optimizer.beta2,
            "epsilon": optimizer.epsilon, "amsgrad": False,
        }
    if name == "adadelta":
        return keras.optimizers.Adadelta, {"learning_rate": optimizer.lr, "rho": optimizer.rho, "epsilon": optimizer.epsilon}
    if name == "rmsprop":
        return keras.optimizers.RMSprop, {
            "learning_rate": optimizer.lr, "rho": optimizer.rho, "momentum": optimizer.momentum,
            "epsilon": optimizer.epsilon, "centered": optimizer.centered,
        }
    raise ValueError(f"the Keras plugin has no mapping for optimizer '{name}'")


OPTIMIZER_NEUTRAL_NAMES: dict[str, str] = {
    "learning_rate": "lr", "beta_1": "beta1", "beta_2": "beta2",
}
"""Keras hyperparameter name -> neutral name, where they differ."""


def make_optimizer(optimizer: schema.Optimizer) -> keras.optimizers.Optimizer:
    """A fresh Keras optimizer for the neutral one."""
    cls, arguments = optimizer_arguments(optimizer)
    return cls(**arguments)


def make_loss() -> keras.losses.Loss:
    """Softmax cross-entropy on logits with integer labels, averaged over the batch."""
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=LOSS_REDUCTION)
