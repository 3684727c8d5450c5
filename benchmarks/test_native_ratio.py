"""Harness step time / native step time per framework, on a tiny slice (pytest-benchmark).

The native side is ``benchmarks/native/<framework>_native.py`` (no harness, only the thread count
set); the ratio of each framework is stored in ``benchmark.extra_info`` so that its history can be
saved and compared with pytest-benchmark's tools. On a tiny slice and a shared machine the ratio
is noisy: the ceiling here is generous; ``python benchmarks/native_overhead.py`` measures properly.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCHMARKS))

from native_overhead import COMPILED_IDIOMS, SCRIPTS, compare

from harness.plugins import frameworks
from harness.testing.plugin import unavailable_reason

INSTALLED = frameworks()
CEILING = 1.5
"""Harness / native on 640 images, one round: a regression shows as a ratio far above 1."""


CASES = [(name, "eager") for name in sorted(SCRIPTS)] + [(name, "compiled") for name in sorted(COMPILED_IDIOMS)]


@pytest.mark.parametrize(("framework", "mode"), CASES)
def test_harness_over_native_ratio(benchmark, framework: str, mode: str) -> None:
    reason = unavailable_reason(framework, INSTALLED)
    if reason is not None:
        pytest.skip(f"{framework}: {reason}")
    args = argparse.Namespace(spec=BENCHMARKS.parent / "specs" / "lenet.yaml", variant=None, dataset=None, data_dir=None,
                              limit_train=640, batch_size=None, rounds=1, threads=1, seed=0, mode=mode)
    (result,) = benchmark.pedantic(compare, args=([framework], args, "lenet", 64), kwargs={"report": False},
                                   rounds=1, iterations=1)
    benchmark.extra_info.update({"ratio": result.ratio, "harness_step_ms": result.harness_ms, "native_step_ms": result.native_ms,
                                 "load": result.loads, "threads": 1, "images": 640, "mode": mode})
    assert result.ratio <= CEILING, f"{framework} ({mode}): the harness is {result.ratio:.2f}x its native loop"
