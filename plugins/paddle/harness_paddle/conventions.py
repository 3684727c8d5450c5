"""The one place where the neutral spec meets PaddlePaddle's conventions.

* Layout: the spec is channels-last; the network runs channels-first (NCHW), as Paddle usually
  does. Batches are transposed NHWC -> NCHW on the way in, feature maps back on the way out.
* Flatten: the network flattens natively, in (C, H, W) order. The neutral order is (H, W, C), so
  the rows of the dense layer that reads a flattened vector are permuted on load and export
  (:func:`dense_rows_after_flatten`), as are batch-norm vectors between the two. A flatten whose
  features reach no dense layer (the logits themselves, or a residual add) flattens in (H, W, C)
  order instead, since no weights could absorb the permutation.
* Padding: TensorFlow's ``same`` is done explicitly and asymmetrically (the odd pixel at the
  bottom/right), for every stride. When the input size is known the pixels are computed once and
  passed to Paddle as ``[top, bottom, left, right]``; on a size-agnostic input they are computed
  from each batch's size at run time (:class:`harness_paddle.layers.SamePadding2D`). Padded pixels
  never count in a pool: Paddle's max pool ignores them and the average pool runs with
  ``exclusive=True``, for ``same`` and explicit paddings alike.
* Batch norm: Paddle's momentum is the neutral one (weight of the old statistic); momentum and
  epsilon are still always passed explicitly. Paddle holds the moving mean and variance as
  parameters with ``trainable=False``: they are counted as non-trainable.
* Dropout: ``mode='upscale_in_train'`` (inverted dropout, as Keras and PyTorch do).
* Optimizers: every hyperparameter the spec holds is passed explicitly, never left to Paddle's
  defaults; momentum SGD is ``paddle.optimizer.Momentum`` (``v = momentum * v + g``,
  ``p -= lr * v``: the neutral update for a constant learning rate).
* Loss: softmax cross-entropy on logits with integer labels, averaged over the batch.
* Weights: conv kernels HWIO <-> OIHW; depthwise kernels ``(kh, kw, cin, mult)`` <->
  ``(cin * mult, 1, kh, kw)`` with ``groups=cin`` (output channel ``c * mult + m`` in both);
  dense kernels ``(in, out)`` are Paddle's own Linear layout; BN gamma/beta/mean/variance are
  ``weight``/``bias``/``_mean``/``_variance``.
* Initialisers: with ``train.init: framework`` Paddle's own, never passed, reported as defaults.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from harness.shapes import Pads, resolve_padding
from harness.spec import Network, Node
from harness.spec import schema
from harness.spec.network import Traced
from harness_paddle.layers import ChannelsLastFlatten, GlobalPool2D, Pool2D, SamePadding2D, Unit
from harness_paddle.runtime import nn, paddle

FeatureMap = tuple[int, int, int]
Order = Literal["channels_first", "channels_last"]

DATA_FORMAT = "NCHW"
DROPOUT_MODE = "upscale_in_train"
ORDER_PRESERVING = ("dropout", "activation", "batch_norm")
"""Layers a flattened vector passes through without its feature order mattering to the weights."""


# ----------------------------------------------------------------------------- layout


def to_channels_first(images: np.ndarray) -> paddle.Tensor:
    """A neutral NHWC float32 batch as a Paddle NCHW tensor on the current device."""
    return paddle.transpose(paddle.to_tensor(np.asarray(images, dtype=np.float32)), [0, 3, 1, 2])


def to_channels_last(output: paddle.Tensor) -> np.ndarray:
    """A Paddle output as numpy in the neutral layout (feature maps NCHW -> NHWC)."""
    array = output.numpy()
    return np.ascontiguousarray(array.transpose(0, 2, 3, 1)) if array.ndim == 4 else array


# ----------------------------------------------------------------------------- flatten order


def reorder_flat_features(array: np.ndarray, feature_map: FeatureMap, to: Order, axis: int = 0) -> np.ndarray:
    """Permute ``axis`` of ``array`` (the features of a flattened ``(H, W, C)`` map) from the
    channels-last (H, W, C) order to the channels-first (C, H, W) order, or back (``to``)."""
    height, width, channels = feature_map
    moved = np.moveaxis(array, axis, 0)
    rest = moved.shape[1:]
    if to == "channels_first":
        reordered = moved.reshape(height, width, channels, *rest).transpose(2, 0, 1, *range(3, 3 + len(rest)))
    else:
        reordered = moved.reshape(channels, height, width, *rest).transpose(1, 2, 0, *range(3, 3 + len(rest)))
    return np.ascontiguousarray(np.moveaxis(reordered.reshape(moved.shape), 0, axis))


def dense_rows_after_flatten(kernel: np.ndarray, feature_map: FeatureMap, to: Order) -> np.ndarray:
    """The rows of a dense kernel that reads a flattened ``feature_map``, permuted between the
    neutral (H, W, C) order and the (C, H, W) order of Paddle's native flatten (``to``)."""
    return reorder_flat_features(kernel, feature_map, to, axis=0)


@dataclass(frozen=True)
class FlattenOrder:
    """Where vectors flattened natively, in (C, H, W) order, flow through a network.

    ``native`` holds the flatten layers that flatten natively; ``inputs`` and ``outputs`` map a
    layer name to the ``(H, W, C)`` map whose channels-first flattening its input or output is.
    """

    native: frozenset[str]
    inputs: dict[str, FeatureMap]
    outputs: dict[str, FeatureMap]


def _reaches_dense(nodes: Sequence[Node]) -> bool:
    for node in nodes:
        if node.type not in ORDER_PRESERVING:
            return node.type == "dense"
    return False


def flatten_order(network: Network) -> FlattenOrder:
    """Which flattens run natively and which layers see their (C, H, W)-ordered vectors."""
    input_shapes = {traced.node.name: traced.input_shape for traced in network.trace}
    native: set[str] = set()
    inputs: dict[str, FeatureMap] = {}
    outputs: dict[str, FeatureMap] = {}
    current: FeatureMap | None = None
    for index, node in enumerate(network.nodes):
        if current is not None:
            inputs[node.name] = current
        if node.type == "flatten" and _reaches_dense(network.nodes[index + 1:]):
            current = input_shapes[node.name]  # type: ignore[assignment]
            native.add(node.name)
        elif node.type not in ORDER_PRESERVING:
            current = None
        if current is not None:
            outputs[node.name] = current
    return FlattenOrder(frozenset(native), inputs, outputs)


# ----------------------------------------------------------------------------- layers


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


def window_padding(layer: schema.Layer, input_shape: tuple[int | None, ...]) -> Pads | None:
    """``(top, bottom, left, right)`` pixels for a conv or pool on ``input_shape``; None when
    the input size is unknown and ``same`` must be computed at run time."""
    if layer.type in ("max_pool", "avg_pool"):
        kernel, stride = pool_window(layer)
    else:
        kernel, stride = schema.pair(layer.kernel), schema.pair(layer.stride)
    return resolve_padding(layer.padding, input_shape[0], input_shape[1], kernel, stride)


def pool_window(layer: schema.MaxPool | schema.AvgPool) -> tuple[tuple[int, int], tuple[int, int]]:
    """A pool's window and stride (the stride defaults to the window)."""
    return schema.pair(layer.pool), schema.pair(layer.stride if layer.stride is not None else layer.pool)


def batch_norm_arguments(layer: schema.BatchNorm) -> dict[str, Any]:
    """Paddle BatchNorm arguments: the neutral momentum and epsilon as they are."""
    return {"momentum": layer.momentum, "epsilon": layer.epsilon}


def _conv_unit(layer: schema.Conv | schema.DepthwiseConv, input_shape: tuple[int | None, ...]) -> Unit:
    channels = int(input_shape[2])  # type: ignore[arg-type]
    kernel, stride = schema.pair(layer.kernel), schema.pair(layer.stride)
    pads = window_padding(layer, input_shape)
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
        window, stride = pool_window(layer)
        return Pool2D("max" if kind == "max_pool" else "avg", window, stride, window_padding(layer, input_shape))
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


def paddle_unit(traced: Traced, order: FlattenOrder) -> Unit:
    """The Paddle layers one non-residual neutral layer becomes, as one :class:`Unit`."""
    layer = traced.node.layer
    if layer.type in ("conv", "depthwise_conv"):
        return _conv_unit(layer, traced.input_shape)
    if layer.type == "dense":
        linear = nn.Linear(int(traced.input_shape[0]), layer.units, bias_attr=None if layer.use_bias else False)  # type: ignore[arg-type]
        return Unit(linear, activation=activation_layer(layer.activation))
    if layer.type == "activation":
        return Unit(activation_layer(layer.function) or nn.Identity())
    return Unit(_core_layer(traced, traced.node.name in order.native))


# ----------------------------------------------------------------------------- weights

PARAMETER_NAMES: dict[str, dict[str, str]] = {
    "conv": {"kernel": "weight", "bias": "bias"},
    "depthwise_conv": {"kernel": "weight", "bias": "bias"},
    "dense": {"kernel": "weight", "bias": "bias"},
    "batch_norm": {"gamma": "weight", "beta": "bias", "moving_mean": "_mean", "moving_variance": "_variance"},
}
"""Neutral tensor name -> Paddle parameter name of the unit's core layer, per weighted layer type."""


def to_paddle_layout(layer: schema.Layer, tensor: str, array: np.ndarray, flattened: FeatureMap | None) -> np.ndarray:
    """One neutral tensor in Paddle's layout; ``flattened`` is the map the layer's input is a
    (C, H, W)-ordered flattening of, if any."""
    if layer.type == "conv" and tensor == "kernel":
        return np.ascontiguousarray(array.transpose(3, 2, 0, 1))  # HWIO -> OIHW
    if layer.type == "depthwise_conv" and tensor == "kernel":
        height, width, channels, multiplier = array.shape
        return np.ascontiguousarray(array.reshape(height, width, channels * multiplier).transpose(2, 0, 1)[:, None])
    if flattened is not None and layer.type == "dense" and tensor == "kernel":
        return dense_rows_after_flatten(array, flattened, "channels_first")
    if flattened is not None and layer.type == "batch_norm":
        return reorder_flat_features(array, flattened, "channels_first")
    return array


def to_neutral_layout(layer: schema.Layer, tensor: str, array: np.ndarray, flattened: FeatureMap | None) -> np.ndarray:
    """One Paddle parameter in the neutral layout (the inverse of :func:`to_paddle_layout`)."""
    if layer.type == "conv" and tensor == "kernel":
        return np.ascontiguousarray(array.transpose(2, 3, 1, 0))  # OIHW -> HWIO
    if layer.type == "depthwise_conv" and tensor == "kernel":
        outputs, _, height, width = array.shape
        multiplier = layer.depth_multiplier
        return np.ascontiguousarray(array[:, 0].transpose(1, 2, 0).reshape(height, width, outputs // multiplier, multiplier))
    if flattened is not None and layer.type == "dense" and tensor == "kernel":
        return dense_rows_after_flatten(array, flattened, "channels_last")
    if flattened is not None and layer.type == "batch_norm":
        return reorder_flat_features(array, flattened, "channels_last")
    return array


# ----------------------------------------------------------------------------- training


def optimizer_arguments(optimizer: schema.Optimizer) -> tuple[type[paddle.optimizer.Optimizer], dict[str, Any]]:
    """The Paddle optimizer class for the neutral optimizer, and every hyperparameter, explicit."""
    name = optimizer.name
    if name in ("sgd", "momentum"):
        if optimizer.momentum == 0.0:
            return paddle.optimizer.SGD, {"learning_rate": optimizer.lr}
        return paddle.optimizer.Momentum, {
            "learning_rate": optimizer.lr, "momentum": optimizer.momentum, "use_nesterov": optimizer.nesterov,
        }
    if name == "adam":
        return paddle.optimizer.Adam, {
            "learning_rate": optimizer.lr, "beta1": optimizer.beta1, "beta2": optimizer.beta2,
            "epsilon": optimizer.epsilon, "amsgrad": False, "lazy_mode": False,
        }
    if name == "adadelta":
        return paddle.optimizer.Adadelta, {"learning_rate": optimizer.lr, "rho": optimizer.rho, "epsilon": optimizer.epsilon}
    if name == "rmsprop":
        return paddle.optimizer.RMSProp, {
            "learning_rate": optimizer.lr, "rho": optimizer.rho, "momentum": optimizer.momentum,
            "epsilon": optimizer.epsilon, "centered": optimizer.centered,
        }
    raise ValueError(f"the Paddle plugin has no mapping for optimizer '{name}'")


OPTIMIZER_NEUTRAL_NAMES: dict[str, str] = {"learning_rate": "lr", "use_nesterov": "nesterov"}
"""Paddle hyperparameter name -> neutral name, where they differ."""

OPTIMIZER_NOTES: dict[tuple[str, str], str] = {
    ("adam", "epsilon"): "Paddle adds epsilon to the square root of the bias-corrected second moment "
                         "(as PyTorch does); Keras adds it before the bias correction",
    ("rmsprop", "epsilon"): "added inside the square root: lr * g / sqrt(mean_square + epsilon)",
    ("adadelta", "epsilon"): "added inside both square roots, as Keras does",
}
"""Where Paddle applies a hyperparameter in a way worth stating next to its value."""


def make_optimizer(optimizer: schema.Optimizer, parameters: list[paddle.Tensor]) -> paddle.optimizer.Optimizer:
    """A fresh Paddle optimizer for the neutral one over ``parameters`` (the trainable ones)."""
    cls, arguments = optimizer_arguments(optimizer)
    return cls(parameters=parameters, **arguments)


LOSS_ARGUMENTS: dict[str, Any] = {
    "reduction": "mean", "soft_label": False, "use_softmax": True, "axis": -1, "label_smoothing": 0.0,
}
"""Softmax cross-entropy from logits with integer labels, averaged over the batch."""


def make_loss() -> nn.CrossEntropyLoss:
    """The neutral loss as a Paddle layer."""
    return nn.CrossEntropyLoss(**LOSS_ARGUMENTS)


# ----------------------------------------------------------------------------- initialisers

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
