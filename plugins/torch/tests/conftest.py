"""Fixtures for the PyTorch plugin's tests: one framework instance per test session (one thread,
seed 0) and small networks written inline."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

pytest.importorskip("torch", reason="PyTorch is not installed (pip install -e plugins/torch)")

from harness.spec import Network  # noqa: E402
from harness.spec.network import expand  # noqa: E402
from harness.spec.schema import Spec  # noqa: E402
from harness_torch.framework import TorchFramework  # noqa: E402

THREADS = 1
SEED = 0

BASE_SPEC: dict[str, Any] = {
    "name": "t", "title": "t", "source": "test", "classes": 3,
    "train": {"optimizer": {"name": "sgd", "lr": 0.01}}, "dataset": {"name": "synthetic"},
}


@pytest.fixture(scope="session")
def framework() -> TorchFramework:
    """The PyTorch framework of this test process: CPU, one thread, seed 0."""
    return TorchFramework(device="cpu", threads=THREADS, seed=SEED)


def inline_network(backbone: list[dict[str, Any]], input_shape: list[int | None], head: dict[str, Any] | None = None,
                   **overrides: Any) -> Network:
    """A network from an inline backbone and head (global average head by default)."""
    data = {**BASE_SPEC, "input": input_shape, "backbone": backbone, "head": head or {"type": "global_avg"}, **overrides}
    return expand(Spec.model_validate(data))


@pytest.fixture
def make_network() -> Callable[..., Network]:
    """:func:`inline_network`, as a fixture."""
    return inline_network
