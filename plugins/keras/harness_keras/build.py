"""Building a functional Keras model from an expanded network, keeping the neutral layer names: one
Keras layer (or a padding layer and the layer) per neutral layer, in Keras' own channels-last layout."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

from harness.neutral.shapes import Pads, explicit_padding, same_padding
from harness.spec import Network, Node, schema
from harness.spec.network import frozen_layers
from harness_keras.backends import TENSORFLOW
from harness_keras.layers import ConstantPadding2D, PaddingExcludedAveragePooling2D
from harness_keras.runtime import BACKEND, keras, tf

ACTIVATIONS: dict[str, str] = {
    "relu": "relu",
    "relu6": "relu6",
    "sigmoid": "sigmoid",
    "tanh": "tanh",
    "softmax": "softmax",  # Keras' softmax is over the last axis: the channels.
    "linear": "linear",
}

MAX_POOL_PAD_VALUE = float("-inf")
PAD_SUFFIX = ".pad"
"""Suffix of an auxiliary padding layer's name ('.' cannot occur in a neutral layer name)."""

INPUT_NAME = "images.input"
"""The input layer's name ('.' cannot occur in a neutral layer name, so it never collides)."""


def same_pads_at_any_size(kernel: tuple[int, int], stride: tuple[int, int]) -> Pads | None:
    """The pixels TensorFlow's ``same`` pads whatever the input size: known only at stride 1,
    where it pads ``kernel - 1`` (the odd one after); None at other strides, where it depends on the size."""
    if stride != (1, 1):
        return None
    return same_padding(kernel[0], kernel[0], 1) + same_padding(kernel[1], kernel[1], 1)


def padding_plan(padding: schema.Padding, kernel: tuple[int, int] | None = None,
                 stride: tuple[int, int] | None = None) -> tuple[str, Pads | None]:
    """Keras ``padding`` argument and the explicit pixels to pad first (None when nothing).

    With a convolution's ``kernel`` and ``stride``, explicit pixels that ``same`` pads anyway
    become ``same``: the convolution pads inside itself rather than after a ``ZeroPadding2D``
    layer (the same sums; one layer fewer, which costs Python on every step on eager PyTorch).
    """
    if padding == "same":
        return "same", None
    pads = explicit_padding(padding)
    if not pads or not any(pads):
        return "valid", None
    if kernel is not None and stride is not None and pads == same_pads_at_any_size(kernel, stride):
        return "same", None
    return "valid", pads


def _pool_stride(layer: schema.MaxPool | schema.AvgPool) -> tuple[int, int]:
    return schema.pair(layer.stride if layer.stride is not None else layer.pool)


def _window_layers(node: Node) -> list[keras.layers.Layer]:
    layer = node.layer
    pad_name = node.name + PAD_SUFFIX
    if layer.type in ("avg_pool", "max_pool"):
        padding, pads = padding_plan(layer.padding)
    else:
        padding, pads = padding_plan(layer.padding, schema.pair(layer.kernel), schema.pair(layer.stride))
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


class StateHolder(Protocol):
    """A training step that holds newer values of the model's variables than the variables do."""

    def write_back(self) -> None:
        """Assign the held values to the variables and hold nothing."""


@dataclass
class KerasNetwork:
    """A built network: the Keras model and how its layers map onto the neutral ones.

    ``groups`` maps every neutral layer name, in execution order, to the Keras layers it became
    (the last one carries the neutral name); ``outputs`` holds each neutral layer's output tensor.
    ``state_holder`` is the step holding the variables' newest values (Keras on JAX), or None.
    """

    network: Network
    model: keras.Model
    groups: dict[str, tuple[keras.layers.Layer, ...]]
    outputs: dict[str, Any]
    state_holder: StateHolder | None = None

    def sync_variables(self) -> None:
        """Give the variables the newest values a step holds: before anything reads or sets them."""
        holder, self.state_holder = self.state_holder, None
        if holder is not None:
            holder.write_back()

    def input_signature(self) -> list[tf.TensorSpec]:
        """One NHWC batch (``floatx``: float32 unless float64 was asked for) of any size (and any
        height/width on a size-agnostic input)."""
        return [tf.TensorSpec((None, *self.network.input_shape), keras.config.floatx())]

    def _traced(self, function: Any) -> Any:
        return tf.function(function, input_signature=self.input_signature(), reduce_retracing=True)

    @cached_property
    def forward(self) -> Any:
        """Inference-mode forward pass: images -> logits (traced on TensorFlow, Keras'
        ``predict_on_batch`` on the other backends, compiled where the backend compiles)."""
        if BACKEND != TENSORFLOW:
            return self.model.predict_on_batch
        return self._traced(lambda images: self.model(images, training=False))

    @cached_property
    def probe(self) -> Any:
        """Inference-mode pass returning every neutral layer's output, in ``outputs`` order."""
        probe = keras.Model(inputs=self.model.inputs, outputs=list(self.outputs.values()))
        if BACKEND != TENSORFLOW:
            return probe.predict_on_batch
        return self._traced(lambda images: probe(images, training=False))


def _connect(nodes: tuple[Node, ...], x: Any, groups: dict[str, tuple[Any, ...]], outputs: dict[str, Any]) -> Any:
    for node in nodes:
        if node.children:
            block = _connect(node.children, x, groups, outputs)
            add = residual_add(node)
            x = add([x, block])
            groups[node.name] = (add,)
        else:
            layers = keras_layers(node)
            for layer in layers:
                x = layer(x)
            groups[node.name] = tuple(layers)
        outputs[node.name] = x
    return x


def build_model(network: Network) -> KerasNetwork:
    """A functional model whose input is the spec's ``(H, W, C)`` (``None`` for H/W when
    size-agnostic) and whose output is the logits."""
    inputs = keras.Input(shape=network.input_shape, dtype=keras.config.floatx(), name=INPUT_NAME)
    groups: dict[str, tuple[Any, ...]] = {}
    outputs: dict[str, Any] = {}
    logits = _connect(network.nodes, inputs, groups, outputs)
    model = keras.Model(inputs=inputs, outputs=logits, name=network.spec.name)
    for name in frozen_layers(network):
        for layer in groups[name]:
            layer.trainable = False  # Keras then also runs a batch norm on its moving statistics
    return KerasNetwork(network, model, groups, outputs)
