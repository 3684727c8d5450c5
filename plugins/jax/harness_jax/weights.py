"""Neutral weights in and out of a Flax model.

Flax is channels-last like the neutral layout, so conv kernels (HWIO), dense kernels ``(in,
out)`` (rows after a flatten in (H, W, C) order) and biases need no conversion. Two things do:
a depthwise kernel, which Flax holds as ``(kh, kw, 1, in * multiplier)`` (a reshape, the
channel order is the same), and batch norm's names (``scale``, ``bias``, ``mean``, ``var``).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from harness.framework import NeutralWeights
from harness_jax.build import JaxNetwork, NeutralNet
from harness_jax.layers import Convolution, Dense


def _variables(module: nnx.Module) -> dict[str, nnx.Variable]:
    """Neutral tensor name -> the Flax variable holding it (absent bias: not listed)."""
    if isinstance(module, Convolution):
        conv = module.conv
        return {"kernel": conv.kernel} | ({"bias": conv.bias} if conv.bias is not None else {})
    if isinstance(module, Dense):
        linear = module.linear
        return {"kernel": linear.kernel} | ({"bias": linear.bias} if linear.bias is not None else {})
    if isinstance(module, nnx.BatchNorm):
        return {"gamma": module.scale, "beta": module.bias, "moving_mean": module.mean, "moving_variance": module.var}
    return {}


def _converters(module: nnx.Module, name: str, shape: tuple[int, ...]) -> tuple[Callable[[np.ndarray], np.ndarray],
                                                                                Callable[[np.ndarray], np.ndarray]]:
    """(neutral -> Flax, Flax -> neutral) for one tensor of Flax shape ``shape``."""
    if isinstance(module, Convolution) and module.conv.feature_group_count > 1 and name == "kernel":
        kh, kw, _, features = shape
        channels = module.conv.feature_group_count
        return (lambda a: a.reshape(shape)), (lambda a: a.reshape(kh, kw, channels, features // channels))
    return (lambda a: a), (lambda a: a)


def _weighted(net: NeutralNet) -> dict[str, tuple[nnx.Module, dict[str, nnx.Variable]]]:
    found = {}
    for name, module in net.layers.items():
        variables = _variables(module)
        if variables:
            found[name] = (module, variables)
    return found


def load_weights(built: JaxNetwork, weights: NeutralWeights) -> None:
    """Set every variable from the neutral weights; every one must be given exactly once."""
    net = built.module()
    weighted = _weighted(net)
    for layer, (module, variables) in weighted.items():
        for name, variable in variables.items():
            array = weights.get(layer, {}).get(name)
            if array is None:
                raise ValueError(f"the neutral weights lack {layer}/{name}, which the JAX model of {built.network.key} needs")
            shape = tuple(variable.get_value().shape)
            to_flax, to_neutral = _converters(module, name, shape)
            expected = to_neutral(np.empty(shape, np.float32)).shape
            if tuple(np.shape(array)) != expected:
                raise ValueError(f"{layer}/{name} has shape {tuple(np.shape(array))}; the JAX model expects {expected}")
            value = to_flax(np.asarray(array, dtype=built.dtype))
            variable.set_value(jax.device_put(jnp.asarray(value), built.device))
    for layer, tensors in weights.items():
        for name in tensors:
            if name not in weighted.get(layer, (None, {}))[1]:
                raise ValueError(f"the neutral weights hold {layer}/{name}, which the JAX model of {built.network.key} does not have")
    built.store(net)


def export_weights(built: JaxNetwork) -> NeutralWeights:
    """Every weighted layer's tensors as numpy arrays (of the model's dtype) in the neutral layout."""
    result: NeutralWeights = {}
    for layer, (module, variables) in _weighted(built.module()).items():
        tensors = {}
        for name, variable in variables.items():
            array = np.asarray(variable.get_value())
            tensors[name] = np.array(_converters(module, name, array.shape)[1](array))
        result[layer] = tensors
    return result
