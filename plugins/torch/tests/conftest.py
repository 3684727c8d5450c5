"""Fixtures for the PyTorch plugin's tests: one framework instance per test session (one thread,
seed 0) and small networks written inline."""

from __future__ import annotations

import pytest

pytest.importorskip("torch", reason="PyTorch is not installed (pip install -e plugins/torch)")

from harness.testing.specs import make_network  # noqa: E402, F401 - a fixture
from harness_torch.framework import TorchFramework  # noqa: E402

THREADS = 1
SEED = 0


@pytest.fixture(scope="session")
def framework() -> TorchFramework:
    """The PyTorch framework of this test process: CPU, one thread, seed 0."""
    return TorchFramework(device="cpu", threads=THREADS, seed=SEED)
