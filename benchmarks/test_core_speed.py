"""The core's own speed, as pytest-benchmark tests (``pytest benchmarks --benchmark-only``).

Their history is saved and compared with pytest-benchmark's tools (``--benchmark-autosave``,
``pytest-benchmark compare``); the targets below are generous ceilings for a 2-core machine.
"""

from __future__ import annotations

import sys
from pathlib import Path

from harness.neutral.oracle import analyse
from harness.report import write_report
from harness.spec import load_networks

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from report_support import sample_run, write_run  # noqa: E402 - the tests' run builder, shared

MOBILENET = ROOT / "specs" / "mobilenetv2_heads.yaml"


def test_oracle_on_mobilenetv2(benchmark) -> None:
    networks = load_networks(MOBILENET)
    analyses = benchmark(lambda: [analyse(network) for network in networks])
    assert all(analysis.params()["total"] > 2_000_000 for analysis in analyses)
    assert benchmark.stats is None or benchmark.stats.stats.median < 1.0


def test_report_regeneration(benchmark, tmp_path: Path) -> None:
    results = write_run(sample_run(epochs=10, samples=300), tmp_path / "run")
    pages = benchmark.pedantic(write_report, args=(results,), rounds=3, iterations=1)
    assert any(path.suffix == ".html" for path in pages)
    assert benchmark.stats is None or benchmark.stats.stats.median < 10.0
