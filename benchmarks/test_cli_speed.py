"""Speed targets of the command line (pytest-benchmark; run with ``--benchmark-enable``).

    python3 -m pytest benchmarks/test_cli_speed.py --benchmark-enable

``harness --help`` must answer within 0.5 s, interpreter start included: it imports no command
module, framework, pandas or matplotlib (tests/test_first_hour.py checks the imports themselves).
The fastest of ten runs is compared with the target: on a shared machine other processes only
ever add time, so the minimum is the steadiest estimate of the command's own cost.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pytest_benchmark.fixture import BenchmarkFixture

ROOT = Path(__file__).resolve().parents[1]
HELP_TARGET_S = 0.5


def harness_help() -> None:
    subprocess.run([sys.executable, "-m", "harness", "--help"], cwd=ROOT, check=True, capture_output=True)


def test_help_answers_within_half_a_second(benchmark: BenchmarkFixture) -> None:
    benchmark.pedantic(harness_help, rounds=10, warmup_rounds=1)
    if not benchmark.disabled:
        fastest = benchmark.stats.stats.min
        assert fastest < HELP_TARGET_S, f"harness --help took {fastest:.2f} s (fastest of 10), target {HELP_TARGET_S} s"
