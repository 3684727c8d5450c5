"""Raw timing samples live beside results.json in samples.json.gz; schema-1 files still read."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from click.testing import CliRunner
from report_support import sample_run, write_run

from harness.cli import main
from harness.report import write_report
from harness.report.compare import compare_runs
from harness.results import SAMPLES_FILE, SCHEMA_VERSION, read_run, write_model


def test_results_json_holds_no_samples_and_the_samples_file_gives_them_back(tmp_path: Path) -> None:
    run = sample_run(epochs=2, samples=40)
    path = write_run(run, tmp_path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["schema_version"] == SCHEMA_VERSION and data["samples_file"] == SAMPLES_FILE
    assert "samples_ms" not in path.read_text(encoding="utf-8")
    back = read_run(path)
    for before, after in zip(run.jobs, back.jobs):
        for field in ("step_time", "latency_batch_1", "latency_batch"):
            original = getattr(before, field)
            assert (original.samples_ms if original else None) == (getattr(after, field).samples_ms if original else None)


def test_the_samples_file_is_the_same_bytes_every_time(tmp_path: Path) -> None:
    run = sample_run(epochs=2, samples=40)
    first = (write_run(run, tmp_path / "a").parent / SAMPLES_FILE).read_bytes()
    second = (write_run(run, tmp_path / "b").parent / SAMPLES_FILE).read_bytes()
    assert first == second
    assert first[4:8] == b"\0\0\0\0", "no modification time in the gzip header"
    assert "step_time" in json.loads(gzip.decompress(first))["samples"]["lenet"]["keras"]["0"]


def test_a_schema_1_file_with_samples_inline_still_reads_and_compares(tmp_path: Path) -> None:
    run = sample_run(epochs=2, samples=40)
    old = tmp_path / "old" / "results.json"
    write_model(old, run.model_copy(update={"schema_version": 1}))
    assert "samples_ms" in old.read_text(encoding="utf-8")
    new = write_run(run, tmp_path / "new")
    assert read_run(old).jobs[0].step_time.samples_ms == read_run(new).jobs[0].step_time.samples_ms
    step = next(c for c in compare_runs(read_run(old), read_run(new)) if c.metric == "step ms")
    assert step.verdict == "same"
    write_report(old)
    assert (tmp_path / "old" / "report.md").read_text(encoding="utf-8").count("\n## Summary\n") == 1


def test_a_report_needs_no_samples_and_copies_them_with_the_results(tmp_path: Path) -> None:
    path = write_run(sample_run(epochs=2, samples=40), tmp_path / "run")
    written = write_report(path, tmp_path / "copy")
    assert tmp_path / "copy" / SAMPLES_FILE in written
    (tmp_path / "run" / SAMPLES_FILE).unlink()
    assert read_run(path).jobs[0].step_time.samples_ms == []
    write_report(path)


def test_a_damaged_samples_file_is_explained(tmp_path: Path) -> None:
    path = write_run(sample_run(epochs=2, samples=40), tmp_path)
    (tmp_path / SAMPLES_FILE).write_bytes(b"not gzip")
    outcome = CliRunner().invoke(main, ["report", str(path)])
    assert outcome.exit_code == 2
    assert "not a gzip-compressed JSON samples file" in outcome.output and "Traceback" not in outcome.output


def test_a_samples_file_of_the_wrong_shape_is_explained(tmp_path: Path) -> None:
    path = write_run(sample_run(epochs=2, samples=40), tmp_path)
    (tmp_path / SAMPLES_FILE).write_bytes(gzip.compress(b'{"samples": {"lenet": {"keras": {"0": {"step_time": "x"}}}}}'))
    outcome = CliRunner().invoke(main, ["report", str(path)])
    assert outcome.exit_code == 2
    assert "no valid 'samples' mapping" in outcome.output and "Traceback" not in outcome.output
