"""Fixtures for the JAX plugin's tests: one framework instance per test session (XLA reads its
thread and device settings once per process), and small networks written inline."""

from __future__ import annotations

import pytest

from harness.testing.specs import make_network  # noqa: F401 - a fixture
from harness_jax import runtime
from harness_jax.framework import JaxFramework

collect_ignore_glob = ["test_*.py"] if JaxFramework.unavailable_reason() else []
"""Without JAX, Flax or optax (pip install -e plugins/jax) there is nothing to test here."""

THREADS = 1
SEED = 0

# XLA reads these when JAX first starts; the test modules import JAX when they are collected.
runtime.prepare_environment(THREADS, runtime.CPU)


@pytest.fixture(scope="session")
def framework() -> JaxFramework:
    """The one JAX framework of this test process: CPU, one thread, seed 0."""
    return JaxFramework(device="cpu", threads=THREADS, seed=SEED)
