"""Per-layer and per-setting detail lives beside results.json (and each job's file) in details.json.gz."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from click.testing import CliRunner
from report_support import sample_run, write_run

from harness.cli import main
from harness.results import (
    DETAILS_FILE,
    JOB_DETAIL_FIELDS,
    JOB_FILE_FIELDS,
    job_details_path,
    read_job,
    read_run,
    write_job,
    write_model,
)


def test_results_json_holds_no_per_layer_detail_and_the_details_file_gives_it_back(tmp_path: Path) -> None:
    run = sample_run(epochs=2, samples=40)
    path = write_run(run, tmp_path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["details_file"] == DETAILS_FILE
    assert not any(name in job for job in data["jobs"] for name in JOB_DETAIL_FIELDS)
    assert not any("layers" in network for network in data["networks"].values())
    back = read_run(path)
    assert [job.effective_settings for job in back.jobs] == [job.effective_settings for job in run.jobs]
    assert [job.layer_params for job in back.jobs] == [job.layer_params for job in run.jobs]
    assert back.networks["lenet"].layers == run.networks["lenet"].layers


def test_the_details_file_is_the_same_bytes_every_time(tmp_path: Path) -> None:
    run = sample_run(epochs=2, samples=40)
    first = (write_run(run, tmp_path / "a").parent / DETAILS_FILE).read_bytes()
    assert first == (write_run(run, tmp_path / "b").parent / DETAILS_FILE).read_bytes()
    assert first[4:8] == b"\0\0\0\0", "no modification time in the gzip header"
    assert "effective_settings" in json.loads(gzip.decompress(first))["jobs"]["lenet"]["keras"]["0"]


def test_results_json_takes_one_line_per_field_of_a_job(tmp_path: Path) -> None:
    run = sample_run(epochs=20, samples=40)
    text = write_run(run, tmp_path).read_text(encoding="utf-8")
    fields = len(run.jobs[0].model_dump())
    assert text.count("\n") < len(run.jobs) * (fields + 3) + 200


def test_a_schema_2_file_with_the_detail_inline_still_reads(tmp_path: Path) -> None:
    run = sample_run(epochs=2, samples=40)
    old = tmp_path / "old" / "results.json"
    write_model(old, run.model_copy(update={"schema_version": 2}))
    assert read_run(old).jobs[0].effective_settings == run.jobs[0].effective_settings


def test_a_missing_or_damaged_details_file_is_explained(tmp_path: Path) -> None:
    path = write_run(sample_run(epochs=2, samples=40), tmp_path)
    (tmp_path / DETAILS_FILE).write_bytes(b"not gzip")
    outcome = CliRunner().invoke(main, ["report", str(path)])
    assert outcome.exit_code == 2 and "not a gzip-compressed JSON details file" in outcome.output
    (tmp_path / DETAILS_FILE).unlink()
    outcome = CliRunner().invoke(main, ["report", str(path)])
    assert outcome.exit_code == 2 and "details.json.gz" in outcome.output and "missing" in outcome.output
    assert "Traceback" not in outcome.output


def test_a_job_file_keeps_its_detail_beside_it_and_reads_back_whole(tmp_path: Path) -> None:
    job = sample_run(epochs=2, samples=40).jobs[0]
    path = tmp_path / "jobs" / "lenet__keras__seed0.json"
    write_job(path, job)
    assert job_details_path(path).name == "lenet__keras__seed0.details.json.gz"
    assert set(json.loads(path.read_text(encoding="utf-8"))) == set(JOB_FILE_FIELDS)
    assert read_job(path) == job
    write_model(path, job)  # a job file from before the details file: the detail inline
    job_details_path(path).unlink()
    assert read_job(path) == job
