"""``harness run --executor ray`` on a real embedded Ray (2 CPUs, started once per session).

The fake plugin (tests/fixtures/run_fake_plugin.py) drives the faults; one test trains a real
framework (torch, 128 images) and checks the Ray run equals the local one.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from harness.cli import main
from harness.plugins import discover, select_frameworks
from harness.results import JobResult, RunResults, read_job, read_run
from harness.runner.jobs import RunOptions, plan_jobs
from harness.runner.orchestrator import Orchestrator
from harness.runner.progress import QuietView
from harness.spec import load_network
from run_support import write_spec

pytest.importorskip("ray")
pytestmark = [pytest.mark.usefixtures("ray_session"), pytest.mark.xdist_group("ray")]  # one Ray at a time (make test: -n auto)

TIMINGS = {"step_time", "images_per_second", "latency_batch_1", "latency_batch", "build_seconds", "first_step_seconds",
           "peak_rss_mb", "gflops", "startup_seconds", "data_seconds", "started_at", "finished_at", "node", "timing_grade",
           "noise", "gemm_gflops", "compile_seconds"}
EPOCH_TIMINGS = {"seconds", "eval_seconds"}


def harness_run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["run", *args, "--quiet", "--threads", "1", "--no-report", "--no-parity",
                                       "--warmup-steps", "0", "--latency-repeats", "3"])
    return result.exit_code, result.output


def job_file(out: Path, framework: str, seed: int = 0, network: str = "tiny") -> dict[str, Any]:
    return read_job(out / "jobs" / f"{network}__{framework}__seed{seed}.json").model_dump(mode="json")


def without_timings(job: JobResult) -> dict[str, Any]:
    """A job's result without what depends on the clock or the node (to compare two executors)."""
    data = job.model_dump(mode="json", exclude=TIMINGS)
    data["history"] = [{key: value for key, value in epoch.items() if key not in EPOCH_TIMINGS} for epoch in data["history"]]
    data["environment"].pop("thread_pools")  # lists pools in the order the libraries loaded
    return data


def test_ray_run_equals_local_run(tmp_path: Path, fake_plugin: None) -> None:
    spec = str(write_spec(tmp_path))
    runs = {}
    for executor in ("local", "ray"):
        out = tmp_path / executor
        code, output = harness_run(spec, "--framework", "fake", "--seeds", "0,1,2", "--executor", executor, "--out", str(out))
        assert code == 0, output
        runs[executor] = read_run(out / "results.json")
    local, ray = runs["local"], runs["ray"]
    assert [(job.seed, job.status) for job in ray.jobs] == [(0, "ok"), (1, "ok"), (2, "ok")]
    assert [without_timings(job) for job in ray.jobs] == [without_timings(job) for job in local.jobs]
    assert ray.framework_params == local.framework_params and ray.settings["executor"] == "ray"
    for job in local.jobs:
        assert job.node is not None and job.node.hostname == socket.gethostname() and job.node.concurrent_jobs == 0
        assert job.node.gpu is None and job.timing_grade
    assert all(job.node is not None and job.node.cpu == local.jobs[0].node.cpu for job in ray.jobs)  # type: ignore[union-attr]
    # Ray's workers (niceness 15 by default) run the jobs at the driver's priority, whatever it is (`nice -n 19 pytest`)
    assert all(job.node is not None and job.node.niceness == os.nice(0) for job in ray.jobs)
    # Two 1-thread jobs fit on 2 CPUs at once, so Ray may run these side by side; whether two of these
    # one-second jobs overlap depends on how soon Ray starts its second worker. Either way the record
    # holds: a job that shared its node says so and is not timing-grade, and the notes say which.
    assert all(job.timing_grade is (job.node is not None and job.node.concurrent_jobs == 0) for job in ray.jobs)
    assert any("not timing-grade" in note for note in ray.notes) is any(not job.timing_grade for job in ray.jobs)
    assert not any("not timing-grade" in note for note in local.notes)  # (a lowered priority has its own note)


def test_packed_jobs_are_not_timing_grade(tmp_path: Path, fake_plugin: None) -> None:
    out = tmp_path / "out"
    code, output = harness_run(str(write_spec(tmp_path)), "--framework", "fake", "--executor", "ray", "--concurrency", "2",
                               "--out", str(out))
    assert code == 0, output
    job = read_run(out / "results.json").jobs[0]
    assert job.status == "ok" and not job.timing_grade and job.node and job.node.concurrent_jobs == 0


def test_a_killed_worker_is_recorded_and_the_other_jobs_finish(tmp_path: Path, fake_plugin: None) -> None:
    out = tmp_path / "out"
    code, output = harness_run(str(write_spec(tmp_path)), "--framework", "fake_kill_parent,fake_oom,fake_crash,fake",
                               "--executor", "ray", "--out", str(out))
    assert code == 1, output
    killed = job_file(out, "fake_kill_parent")
    assert killed["status"] == "failed" and "WorkerCrashedError" in killed["reason"]
    # run once, never retried by Ray (a second attempt would repeat epoch 1 in the history and mix two runs)
    assert [epoch["epoch"] for epoch in killed["history"]] == [1]
    assert killed["node"]["hostname"] == socket.gethostname()
    assert job_file(out, "fake_oom")["status"] == "oom"
    crashed = job_file(out, "fake_crash")
    assert crashed["status"] == "failed" and "crashed on purpose" in crashed["reason"] and len(crashed["history"]) == 1
    assert job_file(out, "fake")["status"] == "ok"
    assert [job.framework for job in read_run(out / "results.json").jobs] == ["fake_kill_parent", "fake_oom", "fake_crash", "fake"]


def test_a_timeout_is_recorded(tmp_path: Path, fake_plugin: None) -> None:
    out = tmp_path / "out"
    # long enough for the hung job to finish its first epoch even at niceness 19 on a busy machine (the
    # clock starts with the job's process on its node, as a local job's does: the local test takes 8 s)
    code, output = harness_run(str(write_spec(tmp_path)), "--framework", "fake_hang,fake", "--timeout", "12",
                               "--executor", "ray", "--out", str(out))
    assert code == 1, output
    hung = job_file(out, "fake_hang")
    assert hung["status"] == "timeout" and "12 s timeout" in hung["reason"]
    assert [epoch["epoch"] for epoch in hung["history"]] == [1]
    assert job_file(out, "fake")["status"] == "ok"


class InterruptAfterFirst(QuietView):
    """Ctrl-C the moment the first job ends (as a user would, between ``ray.wait`` calls)."""

    pressed = False

    def job_finished(self, job: Any, result: JobResult, reused: bool) -> None:
        super().job_finished(job, result, reused)
        if not self.pressed:
            self.pressed = True
            raise KeyboardInterrupt


def test_resume_after_an_interrupted_ray_run_reruns_only_the_missing_jobs(tmp_path: Path, fake_plugin: None) -> None:
    from rich.console import Console

    from harness.runner.ray_executor import RayExecutor

    spec, out = write_spec(tmp_path), tmp_path / "out"
    options = RunOptions(frameworks=["fake", "fake_hang"], seeds=[0, 1], threads=1, warmup_steps=0, latency_repeats=3)
    jobs = plan_jobs([load_network(spec)], options)
    orchestrator = Orchestrator(jobs, out, RunResults(), InterruptAfterFirst(Console(quiet=True)), RayExecutor())
    with pytest.raises(KeyboardInterrupt):
        orchestrator.execute()
    interrupted = read_run(out / "results.json")
    statuses = {(job.framework, job.seed): job.status for job in interrupted.jobs}
    assert len(statuses) == 4
    assert set(statuses.values()) <= {"ok", "interrupted", "skipped"} and "ok" in statuses.values()
    kept = {key for key, status in statuses.items() if status == "ok"}
    before = {key: job_file(out, key[0], key[1]) for key in kept}
    code, output = harness_run(str(spec), "--framework", "fake", "--seeds", "0,1", "--executor", "local", "--resume",
                               "--out", str(out))
    assert code == 0, output
    assert output.count("(kept from an earlier run)") == len({key for key in kept if key[0] == "fake"})
    assert all(job_file(out, *key) == before[key] for key in kept if key[0] == "fake")
    assert [(job.seed, job.status) for job in read_run(out / "results.json").jobs] == [(0, "ok"), (1, "ok")]


@pytest.mark.slow
def test_ray_trains_a_real_framework_like_the_local_executor(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    if not Path("/usr/share/datasets/fashion-mnist").exists():
        pytest.skip("Fashion-MNIST is not installed (dataset-fashion-mnist)")
    runs = {}
    for executor in ("local", "ray"):
        out = tmp_path / executor
        code, output = harness_run("specs/lenet.yaml", "--framework", "torch", "--dataset", "fashion-mnist", "--epochs", "1",
                                   "--limit-train", "128", "--limit-test", "64", "--executor", executor, "--out", str(out))
        assert code == 0, output
        runs[executor] = read_run(out / "results.json")
    assert [job.status for job in runs["ray"].jobs] == ["ok"]
    assert [without_timings(job) for job in runs["ray"].jobs] == [without_timings(job) for job in runs["local"].jobs]
    assert runs["ray"].jobs[0].timing_grade and runs["ray"].jobs[0].node.concurrent_jobs == 0  # type: ignore[union-attr]


def test_a_job_no_node_can_run_is_refused_before_anything_starts(tmp_path: Path, fake_plugin: None) -> None:
    result = CliRunner().invoke(main, ["run", str(write_spec(tmp_path)), "--framework", "fake", "--threads", "4", "--quiet",
                                       "--executor", "ray", "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert "asks Ray for 4 CPUs" in result.output and "most CPUs on a node: 2" in result.output
    assert "Traceback" not in result.output and not list((tmp_path / "out").glob("jobs/*.json"))


def test_params_run_on_ray() -> None:
    """The same executor option on every command: params counts in a Ray task (parity, below)."""
    pytest.importorskip("torch")
    params = CliRunner().invoke(main, ["params", "specs/lenet.yaml", "--framework", "torch", "--threads", "1",
                                       "--executor", "ray", "--json"])
    assert params.exit_code == 0, params.output
    assert json.loads(params.output)[0]["frameworks"]["torch"]["agrees"]


@pytest.mark.slow
def test_parity_of_lenet_in_every_framework_on_ray() -> None:
    """The parity check's weights and batches travel with each framework's task and its layer
    outputs come back (the node works in a folder of its own)."""
    result = CliRunner().invoke(main, ["parity", "specs/lenet.yaml", "--framework", "all", "--threads", "1",
                                       "--executor", "ray", "--json"])
    assert result.exit_code == 0, result.output
    [network] = json.loads(result.output)
    installed = select_frameworks("all", discover()).names
    assert network["passed"] and not network["failures"]
    assert network["round_trip_max_abs"] == {name: 0.0 for name in installed}
    assert {("reference", name) for name in installed} <= {(pair["a"], pair["b"]) for pair in network["pairs"]}
