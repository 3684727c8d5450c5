"""Speed target: ``harness check`` of every shipped spec, framework-free, in under a second.

``pytest benchmarks --benchmark-only`` times it (and holds it to the target); the repository's
``--benchmark-disable`` default runs it once as a plain test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.cli import main

ROOT = Path(__file__).resolve().parents[1]
SPECS = sorted(str(path) for path in (ROOT / "specs").glob("*.yaml"))
TARGET_SECONDS = 1.0
"""Checking every shipped spec (shapes, parameters, MACs against the published figures)."""


def check_all() -> int:
    """``harness check`` of every shipped spec in this process; its exit code."""
    try:
        main(["check", *SPECS], standalone_mode=False)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_check_every_shipped_spec(benchmark: Any) -> None:
    assert check_all() == 0  # warm: imports and first parse are not what is timed
    code = benchmark(check_all)
    assert code == 0
    if benchmark.stats is not None:  # timed (not --benchmark-disable)
        median = benchmark.stats.stats.median
        assert median < TARGET_SECONDS, f"checking {len(SPECS)} specs takes {median:.2f} s (target {TARGET_SECONDS} s)"
