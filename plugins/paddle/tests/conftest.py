"""Fixtures for the Paddle plugin's tests: one framework instance per test session (Paddle's
device and thread settings are process-wide)."""

from __future__ import annotations

import pytest

pytest.importorskip("harness_paddle.runtime", reason="PaddlePaddle is not installed (pip install -e plugins/paddle)")

from harness_paddle.framework import PaddleFramework  # noqa: E402
from paddle_helpers import SEED, THREADS  # noqa: E402


@pytest.fixture(scope="session")
def framework() -> PaddleFramework:
    """The one Paddle framework of this test process: CPU, one thread, seed 0."""
    return PaddleFramework(device="cpu", threads=THREADS, seed=SEED)
