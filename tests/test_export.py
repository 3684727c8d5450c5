"""``harness export``: pytest-benchmark's format read back by its own tools, and github-action-benchmark's
customSmallerIsBetter list checked against that action's BenchmarkResult shape."""

from __future__ import annotations

import json
import math
import statistics
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from pytest_benchmark.stats import Stats

from harness.cli import main
from harness.export import custom_smaller_is_better, pytest_benchmark_json
from harness.report import load_results
from harness.results import RunResults
from harness.runner.measure import rounds as rounds_of
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


def exported(tmp_path: Path, output_format: str, name: str) -> tuple[RunResults, Path]:
    """A sample run exported by the command in ``output_format`` to ``tmp_path / name``."""
    run = sample_run(epochs=2, samples=60)
    results = write_run(run, tmp_path / "run")
    output = tmp_path / name
    done = CliRunner().invoke(main, ["export", "--format", output_format, str(results), "-o", str(output)])
    assert done.exit_code == 0, done.output
    return run, output


def test_pytest_benchmark_compare_lists_every_exported_job(tmp_path: Path) -> None:
    _, output = exported(tmp_path, "pytest-benchmark", "0001_export.json")
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


BENCHMARK_RESULT = {"name": str, "unit": str, "value": (int, float), "range": str, "extra": str}
"""github-action-benchmark's BenchmarkResult (src/extract.ts): name, unit and value required; range
and extra optional strings. Its customSmallerIsBetter tool reads a JSON list of them."""


def assert_custom_benchmark_shape(document: object) -> None:
    assert isinstance(document, list) and document
    for entry in document:
        assert isinstance(entry, dict) and {"name", "unit", "value"} <= entry.keys() <= BENCHMARK_RESULT.keys(), entry
        for key, value in entry.items():
            assert isinstance(value, BENCHMARK_RESULT[key]) and not isinstance(value, bool), (key, value)
        assert math.isfinite(entry["value"]) and entry["name"] and entry["unit"]
    names = [entry["name"] for entry in document]
    assert len(names) == len(set(names)), "names must be unique: the action keys its history by name"


def test_custom_smaller_is_better_has_the_actions_shape_and_the_runs_figures(tmp_path: Path) -> None:
    run, output = exported(tmp_path, "github-action-benchmark", "benchmark.json")
    text = output.read_text()
    assert "NaN" not in text and "Infinity" not in text  # JSON.parse in the action refuses them
    document = json.loads(text)
    assert_custom_benchmark_shape(document)
    by_name = {entry["name"]: entry for entry in document}
    ok = next(job for job in run.jobs if job.status == "ok" and job.step_time is not None)
    step = by_name[f"{ok.network} / {ok.framework} / training step"]
    rounds = ok.step_time.rounds_ms or rounds_of(ok.step_time.samples_ms)
    assert step["unit"] == "ms" and step["value"] == pytest.approx(statistics.median(rounds))
    assert step["range"].startswith("p10-p90: ")
    error = by_name[f"{ok.network} / {ok.framework} / test error"]
    assert error["value"] == pytest.approx(1 - ok.final_test_accuracy) and "range" not in error  # one seed: no range
    assert f"harness commit: {ok.environment.git_commit}" in step["extra"]
    failed = [job for job in run.jobs if job.status == "failed"]
    assert failed and all(f"{job.network} / {job.framework} / test error" not in by_name for job in failed)


def test_every_committed_report_exports_in_the_actions_shape() -> None:
    for results in sorted((Path(__file__).resolve().parents[1] / "reports").glob("*/results.json")):
        assert_custom_benchmark_shape(custom_smaller_is_better(load_results(results)))
