"""Neutral weights in and out of a Keras model (Keras' layout is the neutral one: no transposes)."""

from __future__ import annotations

import numpy as np

from harness.framework import NeutralWeights
from harness_keras.build import KerasNetwork
from harness_keras.runtime import keras

WEIGHT_TENSORS: dict[str, dict[str, str]] = {
    "conv": {"kernel": "kernel", "bias": "bias"},
    "depthwise_conv": {"kernel": "kernel", "bias": "bias"},
    "dense": {"kernel": "kernel", "bias": "bias"},
    "batch_norm": {"gamma": "gamma", "beta": "beta", "moving_mean": "moving_mean", "moving_variance": "moving_variance"},
}
"""Neutral tensor name -> Keras variable name, per weighted layer type (same layout, no transpose)."""


def _variables(built: KerasNetwork) -> dict[str, dict[str, keras.Variable]]:
    """Neutral layer -> neutral tensor name -> the Keras variable holding it."""
    result: dict[str, dict[str, keras.Variable]] = {}
    for traced in built.network.trace:
        node = traced.node
        names = WEIGHT_TENSORS.get(node.type)
        if names is None:
            continue
        layer = built.groups[node.name][-1]
        by_keras_name = {variable.name: variable for variable in layer.weights}
        unmapped = set(by_keras_name) - set(names.values())
        if unmapped:
            raise ValueError(f"Keras layer '{node.name}' holds {sorted(unmapped)}, which no neutral tensor maps to")
        result[node.name] = {neutral: by_keras_name[keras_name] for neutral, keras_name in names.items() if keras_name in by_keras_name}
    return result


def load_weights(built: KerasNetwork, weights: NeutralWeights) -> None:
    """Assign every neutral tensor to its Keras variable; every variable must be given exactly once."""
    built.sync_variables()
    variables = _variables(built)
    for layer, tensors in variables.items():
        for name, variable in tensors.items():
            array = weights.get(layer, {}).get(name)
            if array is None:
                raise ValueError(f"the neutral weights lack {layer}/{name}, which the Keras model of {built.network.key} needs")
            if tuple(array.shape) != tuple(variable.shape):
                raise ValueError(f"{layer}/{name} has shape {tuple(array.shape)}; the Keras model expects {tuple(variable.shape)}")
            variable.assign(np.asarray(array, dtype=variable.dtype))
    for layer, tensors in weights.items():
        for name in tensors:
            if name not in variables.get(layer, {}):
                raise ValueError(f"the neutral weights hold {layer}/{name}, which the Keras model of {built.network.key} does not have")


def export_weights(built: KerasNetwork) -> NeutralWeights:
    """Every weighted layer's tensors as numpy arrays in the neutral layout."""
    built.sync_variables()
    return {
        layer: {name: np.array(variable.numpy()) for name, variable in tensors.items()}
        for layer, tensors in _variables(built).items()
    }
