"""Neutral weights: one documented layout per layer type, a seeded initialiser, and .npz files.

Layout (Keras' own, channels-last), keyed by the expanded network's layer names:

=================  ===============================================================
layer type         tensors
=================  ===============================================================
conv               ``kernel`` (kh, kw, in_channels, filters); ``bias`` (filters,)
depthwise_conv     ``kernel`` (kh, kw, in_channels, multiplier); ``bias``
                   (in_channels * multiplier,); output channel ``c * multiplier + m``
dense              ``kernel`` (in_features, units); ``bias`` (units,). After a flatten the
                   rows are in channels-last (H, W, C) order
batch_norm         ``gamma``, ``beta``, ``moving_mean``, ``moving_variance`` (channels,)
=================  ===============================================================

Initialiser (seeded, numpy only): Glorot-uniform kernels (fans as Keras computes them), biases
uniform in [-0.1, 0.1] (non-zero so that a bias lost in a conversion shows up), ``gamma`` uniform
in [0.5, 1.5], ``beta`` and ``moving_mean`` uniform in [-0.1, 0.1], ``moving_variance`` uniform in
[0.5, 1.5] (so that inference-mode batch norm is really exercised).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harness.framework import NeutralWeights
from harness.spec import Network
from harness.spec.schema import pair

SEPARATOR = "/"


def weight_shapes(network: Network) -> dict[str, dict[str, tuple[int, ...]]]:
    """Every weighted layer's tensors and their shapes in the neutral layout."""
    result: dict[str, dict[str, tuple[int, ...]]] = {}
    for traced in network.trace:
        layer, channels = traced.node.layer, int(traced.input_shape[-1])  # type: ignore[arg-type]
        if layer.type == "conv":
            kh, kw = pair(layer.kernel)
            tensors = {"kernel": (kh, kw, channels, layer.filters)}
            if layer.use_bias:
                tensors["bias"] = (layer.filters,)
        elif layer.type == "depthwise_conv":
            kh, kw = pair(layer.kernel)
            tensors = {"kernel": (kh, kw, channels, layer.depth_multiplier)}
            if layer.use_bias:
                tensors["bias"] = (channels * layer.depth_multiplier,)
        elif layer.type == "dense":
            tensors = {"kernel": (channels, layer.units)}
            if layer.use_bias:
                tensors["bias"] = (layer.units,)
        elif layer.type == "batch_norm":
            tensors = {name: (channels,) for name in ("gamma", "beta", "moving_mean", "moving_variance")}
        else:
            continue
        result[traced.node.name] = tensors
    return result


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = int(np.prod(shape[:-2]))
    return receptive * shape[-2], receptive * shape[-1]


def initial_weights(network: Network, seed: int) -> NeutralWeights:
    """The neutral weights of ``network`` for ``seed`` (the same on every machine)."""
    rng = np.random.Generator(np.random.PCG64(seed))
    weights: NeutralWeights = {}
    for layer, tensors in weight_shapes(network).items():
        values: dict[str, np.ndarray] = {}
        for name, shape in tensors.items():
            if name == "kernel":
                fan_in, fan_out = _fans(shape)
                limit = np.sqrt(6.0 / (fan_in + fan_out))
                array = rng.uniform(-limit, limit, shape)
            elif name in ("gamma", "moving_variance"):
                array = rng.uniform(0.5, 1.5, shape)
            else:
                array = rng.uniform(-0.1, 0.1, shape)
            values[name] = array.astype(np.float32)
        weights[layer] = values
    return weights


def check_complete(network: Network, weights: NeutralWeights) -> None:
    """Raise ValueError naming the first tensor that is missing, extra or of the wrong shape."""
    expected = weight_shapes(network)
    for layer, tensors in expected.items():
        for name, shape in tensors.items():
            array = weights.get(layer, {}).get(name)
            if array is None:
                raise ValueError(f"weights for {network.key} lack {layer}{SEPARATOR}{name} {shape}")
            if tuple(array.shape) != shape:
                raise ValueError(f"{layer}{SEPARATOR}{name} has shape {tuple(array.shape)}, expected {shape}")
    for layer, tensors in weights.items():
        for name in tensors:
            if name not in expected.get(layer, {}):
                raise ValueError(f"weights hold {layer}{SEPARATOR}{name}, which {network.key} does not have")


def save_weights(path: Path, weights: NeutralWeights) -> None:
    """Save as ``.npz`` with keys ``layer/tensor``."""
    flat = {f"{layer}{SEPARATOR}{name}": array for layer, tensors in weights.items() for name, array in tensors.items()}
    np.savez(path, **flat)


def load_weights(path: Path) -> NeutralWeights:
    """Load a ``.npz`` written by :func:`save_weights`."""
    weights: NeutralWeights = {}
    with np.load(path) as archive:
        for key in archive.files:
            layer, name = key.split(SEPARATOR, 1)
            weights.setdefault(layer, {})[name] = archive[key]
    return weights
