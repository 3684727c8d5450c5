"""``harness export --format pytest-benchmark``: read back by pytest-benchmark's own tools."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from pytest_benchmark.stats import Stats

from harness.cli import main
from harness.export import pytest_benchmark_json
from report_support import sample_run, write_run


def test_every_job_becomes_a_benchmark_with_pytest_benchmarks_own_statistics() -> None:
    run = sample_run(epochs=2, samples=60)
    document = pytest_benchmark_json(run)
    assert len(document["benchmarks"]) == len([job for job in run.jobs if job.step_time is not None])
    first_job = next(job for job in run.jobs if job.step_time is not None)
    entry = document["benchmarks"][0]
    expected = Stats()
    for value in first_job.step_time.rounds_ms or first_job.step_time.samples_ms:
        expected.update(value / 1000.0)
    assert entry["stats"]["median"] == expected.median and entry["stats"]["rounds"] == expected.rounds
    assert entry["group"] == first_job.network and entry["params"] == {"framework": first_job.framework, "seed": first_job.seed}


def test_pytest_benchmark_compare_lists_every_exported_job(tmp_path: Path) -> None:
    run = sample_run(epochs=2, samples=60)
    results = write_run(run, tmp_path / "run")
    output = tmp_path / "0001_export.json"
    done = CliRunner().invoke(main, ["export", "--format", "pytest-benchmark", str(results), "-o", str(output)])
    assert done.exit_code == 0, done.output
    document = json.loads(output.read_text())
    compare = subprocess.run([sys.executable, "-c", "from pytest_benchmark.cli import main; main()", "compare", str(output)],
                             capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert compare.returncode == 0, compare.stderr
    for benchmark in document["benchmarks"]:
        assert benchmark["name"] in compare.stdout


def test_a_file_that_is_not_a_run_is_refused_without_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "results.json"
    bad.write_text("[1, 2]")
    done = CliRunner().invoke(main, ["export", str(bad), "-o", str(tmp_path / "out.json")])
    assert done.exit_code == 2 and "Traceback" not in done.output
