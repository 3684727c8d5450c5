"""Fixtures for the Keras plugin's tests: one framework instance per test session (TensorFlow's
threads can be set only once per process), and small networks written inline."""

from __future__ import annotations

import pytest

pytest.importorskip("harness_keras.runtime", reason="TensorFlow or Keras 3 is not installed (pip install -e plugins/keras)")

from harness.testing.specs import make_network  # noqa: E402, F401 - a fixture
from harness_keras.framework import KerasFramework  # noqa: E402

THREADS = 1
SEED = 0


@pytest.fixture(scope="session")
def framework() -> KerasFramework:
    """The one Keras framework of this test process: CPU, one thread, seed 0."""
    return KerasFramework(device="cpu", threads=THREADS, seed=SEED)
