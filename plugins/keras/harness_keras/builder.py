"""Building a functional Keras model from an expanded network, keeping the neutral layer names."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from harness.spec import Network, Node
from harness_keras.conventions import keras_layers, residual_add
from harness_keras.runtime import BACKEND, keras, tf
from harness_keras.backends import TENSORFLOW

INPUT_NAME = "images.input"
"""The input layer's name ('.' cannot occur in a neutral layer name, so it never collides)."""


@dataclass
class KerasNetwork:
    """A built network: the Keras model and how its layers map onto the neutral ones.

    ``groups`` maps every neutral layer name, in execution order, to the Keras layers it became
    (the last one carries the neutral name); ``outputs`` holds each neutral layer's output tensor.
    """

    network: Network
    model: keras.Model
    groups: dict[str, tuple[keras.layers.Layer, ...]]
    outputs: dict[str, Any]

    def input_signature(self) -> list[tf.TensorSpec]:
        """One float32 NHWC batch of any size (and any height/width on a size-agnostic input)."""
        return [tf.TensorSpec((None, *self.network.input_shape), tf.float32)]

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
    inputs = keras.Input(shape=network.input_shape, dtype="float32", name=INPUT_NAME)
    groups: dict[str, tuple[Any, ...]] = {}
    outputs: dict[str, Any] = {}
    logits = _connect(network.nodes, inputs, groups, outputs)
    model = keras.Model(inputs=inputs, outputs=logits, name=network.spec.name)
    return KerasNetwork(network, model, groups, outputs)
