"""Helpers shared by the Paddle plugin's tests (a module name of its own, so that it never
collides with another plugin's test helpers): random inputs and the comparison with the
harness's numpy reference."""

from __future__ import annotations

from typing import Any

import numpy as np

from harness.equivalence import reference
from harness.spec import Network
from harness.neutral.weights import initial_weights
from harness_paddle.framework import PaddleFramework

THREADS = 1
SEED = 0
TOLERANCE = 1e-4
"""float32 against the float64 reference, relative to the layer's largest output (at least 1)."""


def random_images(network: Network, batch: int, size: tuple[int, int] | None = None, seed: int = 0) -> np.ndarray:
    """A float32 NHWC batch in [-1, 1) of the network's input size (or ``size``)."""
    height, width, channels = network.input_shape if size is None else (*size, network.input_shape[2])
    return np.random.default_rng(seed).uniform(-1.0, 1.0, (batch, height, width, channels)).astype(np.float32)


def first_divergent_layer(outputs: dict[str, np.ndarray], expected: dict[str, np.ndarray]) -> str | None:
    """The first layer (in execution order) whose output is off the reference, or None."""
    for name, wanted in expected.items():
        got = outputs[name]
        scale = max(1.0, float(np.abs(wanted).max()))
        if got.shape != wanted.shape or float(np.abs(got - wanted).max()) > TOLERANCE * scale:
            return name
    return None


def parity_with_reference(framework: PaddleFramework, model: Any, network: Network, images: np.ndarray) -> str | None:
    """Load seeded neutral weights, run ``images`` through Paddle and through the numpy reference,
    and return the first layer whose output differs (None when all agree)."""
    weights = initial_weights(network, SEED)
    framework.load_weights(model, weights)
    outputs = dict(framework.layer_outputs(model, images))
    return first_divergent_layer(outputs, reference.layer_outputs(network, weights, images))
