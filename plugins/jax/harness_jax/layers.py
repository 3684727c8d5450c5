"""One Flax NNX module per neutral layer type, channels-last like the spec.

* Padding: ``same`` is XLA's ``SAME``, which is TensorFlow's rule (the odd pixel bottom/right);
  explicit pixels are XLA's ``((top, bottom), (left, right))``, so no padding layer is needed.
  Pools pad with their reduction's identity: a max pool never picks a padded pixel, and an
  average pool leaves padded pixels out of the count (``count_include_pad=False``).
* Depthwise convolution: a grouped convolution with one group per input channel; Flax's kernel
  ``(kh, kw, 1, in * multiplier)`` is the neutral ``(kh, kw, in, multiplier)`` reshaped, output
  channel ``c * multiplier + m`` in both.
* Batch norm: Flax's ``momentum`` is the neutral one (weight of the old statistic); the batch
  variance is the biased one (divided by n), as in Keras.

Every setting a module holds is a plain Python value, static in the compiled graph.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from harness.spec import schema

Padding = str | tuple[tuple[int, int], tuple[int, int]]


def activate(x: jax.Array, function: str) -> jax.Array:
    """One neutral activation function (softmax over the last axis, the channels)."""
    if function == "relu":
        return jax.nn.relu(x)
    if function == "relu6":
        return jax.nn.relu6(x)
    if function == "sigmoid":
        return jax.nn.sigmoid(x)
    if function == "tanh":
        return jnp.tanh(x)
    if function == "softmax":
        return jax.nn.softmax(x, axis=-1)
    if function == "linear":
        return x
    raise ValueError(f"the JAX plugin has no activation '{function}'")


def xla_padding(padding: schema.Padding) -> Padding:
    """XLA's padding argument for a neutral padding."""
    if padding in ("same", "valid"):
        return str(padding).upper()
    top, bottom, left, right = (padding,) * 4 if isinstance(padding, int) else padding
    return ((top, bottom), (left, right))


class Convolution(nnx.Module):
    """A convolution (or depthwise convolution) followed by its activation."""

    def __init__(self, layer: schema.Conv | schema.DepthwiseConv, channels: int, rngs: nnx.Rngs) -> None:
        depthwise = layer.type == "depthwise_conv"
        self.conv = nnx.Conv(
            channels,
            channels * layer.depth_multiplier if depthwise else layer.filters,  # type: ignore[union-attr]
            kernel_size=schema.pair(layer.kernel),
            strides=schema.pair(layer.stride),
            padding=xla_padding(layer.padding),
            feature_group_count=channels if depthwise else 1,
            use_bias=layer.use_bias,
            rngs=rngs,
        )
        self.activation = layer.activation

    def __call__(self, x: jax.Array) -> jax.Array:
        return activate(self.conv(x), self.activation)


class Dense(nnx.Module):
    """A dense layer (kernel ``(in, out)``, the neutral layout) followed by its activation."""

    def __init__(self, layer: schema.Dense, features: int, rngs: nnx.Rngs) -> None:
        self.linear = nnx.Linear(features, layer.units, use_bias=layer.use_bias, rngs=rngs)
        self.activation = layer.activation

    def __call__(self, x: jax.Array) -> jax.Array:
        return activate(self.linear(x), self.activation)


class Pool(nnx.Module):
    """A max or average pool; padded pixels never count."""

    def __init__(self, layer: schema.MaxPool | schema.AvgPool) -> None:
        self.kind = layer.type
        self.window = schema.pair(layer.pool)
        self.strides = schema.pair(layer.stride if layer.stride is not None else layer.pool)
        self.padding = xla_padding(layer.padding)

    def __call__(self, x: jax.Array) -> jax.Array:
        if self.kind == "max_pool":
            return nnx.max_pool(x, self.window, self.strides, self.padding)
        return nnx.avg_pool(x, self.window, self.strides, self.padding, count_include_pad=False)


class GlobalPool(nnx.Module):
    """A global average or max pool over height and width."""

    def __init__(self, layer: schema.GlobalAvgPool | schema.GlobalMaxPool) -> None:
        self.kind = layer.type
        self.keepdims = layer.keepdims

    def __call__(self, x: jax.Array) -> jax.Array:
        reduce = jnp.mean if self.kind == "global_avg_pool" else jnp.max
        return reduce(x, axis=(1, 2), keepdims=self.keepdims)


class Flatten(nnx.Module):
    """Flatten a channels-last map in (H, W, C) order, the neutral one."""

    def __call__(self, x: jax.Array) -> jax.Array:
        return x.reshape(x.shape[0], -1)


class Activation(nnx.Module):
    """A standalone activation function."""

    def __init__(self, layer: schema.Activation) -> None:
        self.function = layer.function

    def __call__(self, x: jax.Array) -> jax.Array:
        return activate(x, self.function)


def make_layer(layer: schema.Layer, channels: int, rngs: nnx.Rngs) -> nnx.Module:
    """The module for one non-residual neutral layer whose input has ``channels`` channels
    (features, for a dense layer)."""
    kind = layer.type
    if kind in ("conv", "depthwise_conv"):
        return Convolution(layer, channels, rngs)  # type: ignore[arg-type]
    if kind == "dense":
        return Dense(layer, channels, rngs)  # type: ignore[arg-type]
    if kind in ("max_pool", "avg_pool"):
        return Pool(layer)  # type: ignore[arg-type]
    if kind in ("global_avg_pool", "global_max_pool"):
        return GlobalPool(layer)  # type: ignore[arg-type]
    if kind == "batch_norm":
        return nnx.BatchNorm(channels, momentum=layer.momentum, epsilon=layer.epsilon,  # type: ignore[union-attr]
                             use_running_average=False, axis=-1, rngs=rngs)
    if kind == "dropout":
        return nnx.Dropout(layer.rate, rngs=rngs)  # type: ignore[union-attr]
    if kind == "flatten":
        return Flatten()
    if kind == "activation":
        return Activation(layer)  # type: ignore[arg-type]
    raise ValueError(f"the JAX plugin has no mapping for layer type '{kind}'")

