"""``pytest benchmarks --benchmark-only`` times the benchmarks although the repository's pytest
options hold ``--benchmark-disable`` (so that a plain run runs each benchmark once, as a test)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("benchmark_only", default=False):
        config.option.benchmark_enable = True
