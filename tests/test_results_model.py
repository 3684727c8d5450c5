"""The one typed model of a run's results: shared by the worker, the files and the report.

A run survives a write and a read unchanged; every committed run and job file still loads; the
worker's result and a job's result declare each measurement once; a malformed part of a results
file is refused in one paragraph that names its place.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from report_support import sample_run, write_run

from harness.report import ResultsError, load_results
from harness.results import (
    FrameworkCount,
    JobRecord,
    JobResult,
    NetworkCheck,
    ParityEntry,
    RunResults,
    TrainMeasurements,
    TrainParityEntry,
    read_job,
    read_run,
)
from harness.runner.protocol import NetworkCount, TrainResult

REPO = Path(__file__).resolve().parents[1]
REPORTS = sorted(path.parent for path in (REPO / "reports").glob("*/results.json"))


def _json(run: RunResults) -> str:
    return json.dumps(run.model_dump(mode="json", exclude={"samples_file", "details_file"}), sort_keys=True)


def test_a_run_reads_back_as_it_was_written(tmp_path: Path) -> None:
    run = sample_run(epochs=3, samples=40)
    run.train_parity = [TrainParityEntry(network="lenet", dtype="float64", a="torch", b="reference", steps=5,
                                         judged="all 5 steps", max_loss_diff=1e-12, max_weight_diff=2e-10,
                                         first_divergence=None, passed=True)]
    back = read_run(write_run(run, tmp_path))
    assert back.samples_file == "samples.json.gz" and back.details_file == "details.json.gz"
    assert _json(back) == _json(run)  # as text: the diverged job's NaN losses are equal there
    assert isinstance(back.networks["lenet"], NetworkCheck) and back.networks["lenet"].layers
    assert isinstance(back.parity[0], ParityEntry) and isinstance(back.framework_params["lenet"]["torch"], FrameworkCount)


@pytest.mark.parametrize("folder", REPORTS, ids=[folder.name for folder in REPORTS])
def test_every_committed_run_and_job_file_loads_typed(folder: Path) -> None:
    run = read_run(folder / "results.json")
    assert run.jobs and run.networks and any(job.step_time and job.step_time.samples_ms for job in run.jobs)
    for path in sorted((folder / "jobs").glob("*.json")):
        job = read_job(path)
        assert job.status != "ok" or (job.history and job.effective_settings), path


def test_each_measurement_is_declared_once_for_the_worker_and_the_job() -> None:
    """The worker's result and the job's result are the same measurements, not two copies of a list."""
    assert set(TrainResult.model_fields) == set(TrainMeasurements.model_fields)
    assert set(JobResult.model_fields) == set(TrainMeasurements.model_fields) | set(JobRecord.model_fields)
    assert not set(TrainMeasurements.model_fields) & set(JobRecord.model_fields)
    for model in (TrainResult, JobResult):
        assert set(vars(model).get("__annotations__", {})) <= {"always"}, f"{model.__name__} declares fields of its own"
    assert set(FrameworkCount.model_fields) < set(NetworkCount.model_fields)


def _committed_job() -> JobResult:
    """A job a worker really measured (a committed run's first job file)."""
    return read_job(sorted((REPORTS[0] / "jobs").glob("*.json"))[0])


def test_a_job_keeps_what_its_worker_measured_and_what_the_parent_knows() -> None:
    parent = JobResult(network="lenet", spec_file="specs/lenet.yaml", framework="torch", seed=0, status="ok",
                       epochs_requested=1, batch_size=8, config={"threads": 1})
    worker = _committed_job()
    measured = TrainResult.model_validate(worker.model_dump(include=set(TrainMeasurements.model_fields)))
    job = parent.measured_by(measured)
    assert (job.network, job.framework, job.config) == ("lenet", "torch", {"threads": 1})
    assert job.step_time == worker.step_time and job.history == worker.history and job.environment == worker.environment


def test_a_worker_result_without_its_measurements_is_refused() -> None:
    with pytest.raises(ValueError, match="measured no build_seconds"):
        TrainResult(status="ok")
    with pytest.raises(ValueError, match="ok or diverged"):
        TrainResult.model_validate({**_committed_job().model_dump(include=set(TrainMeasurements.model_fields)),
                                    "status": "timeout"})


@pytest.mark.parametrize(("part", "value", "place"), [
    ("train_parity", [{"network": "lenet", "steps": "five"}], "train_parity.0.steps"),
    ("parity", [{"network": "lenet", "passed": "maybe"}], "parity.0.passed"),
    ("networks", {"lenet": {"reference": {"test_accuracy": "high"}}}, "networks.lenet.reference.test_accuracy"),
    ("networks", {"lenet": {"expect": [{"field": "weights", "expected": 1, "actual": 1, "ok": True}]}},
     "networks.lenet.expect.0.field"),
])
def test_a_malformed_part_is_refused_in_one_paragraph_naming_its_place(tmp_path: Path, part: str, value: object,
                                                                       place: str) -> None:
    data = sample_run(epochs=1, samples=5).model_dump(mode="json")
    data[part] = value
    path = tmp_path / "results.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ResultsError) as raised:
        load_results(path)
    message = str(raised.value)
    assert message.startswith(f"{path}: {place}: ") and "\n" not in message
    assert "does not follow the results schema" in message and "Pass the results.json" in message
