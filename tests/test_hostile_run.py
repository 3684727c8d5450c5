"""Faults around `harness run`: results that could be lost, output folders found unusable too late,
options that make no sense, workers killed from outside, and divergence that a framework hides.

The jobs run in the fake framework plugin of ``test_run_orchestration`` (no real framework).
"""

from __future__ import annotations

import errno
import json
import math
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hostile_support import assert_clean_failure, invoke
from run_support import TINY_SPEC, harness_run, job_file, start_interruptible, write_spec

from harness import outdir
from harness.outdir import LOCK_FILE, lock_output
from harness.runner.child import classify_death
from harness.runner.divergence import (
    ABOVE_CHANCE,
    NON_FINITE,
    DivergenceWatch,
    window_for,
)
from harness.runner.jobs import RunOptions, plan_jobs
from harness.spec import load_networks

pytestmark = pytest.mark.usefixtures("fake_plugin")


def run_args(*args: str) -> list[str]:
    return ["run", *args, "--quiet", "--threads", "1", "--no-report", "--warmup-steps", "0", "--latency-repeats", "3"]


# ----------------------------------------------------------------------------- lost results


def test_two_spec_files_with_the_same_name_are_refused(tmp_path: Path) -> None:
    first = write_spec(tmp_path, name="one.yaml")
    second = write_spec(tmp_path, lr=0.5, name="two.yaml")
    out = tmp_path / "out"
    result = invoke(*run_args(str(first), str(second), "--framework", "fake", "--out", str(out)))
    assert_clean_failure(result, 2, f"{second}:1:1", f"the same name as the one in {first}:1", "another 'name'")
    assert not out.exists()


def test_the_same_spec_file_twice_is_one_spec(tmp_path: Path) -> None:
    spec = str(write_spec(tmp_path))
    result = invoke(*run_args(spec, spec, "--framework", "fake", "--out", str(tmp_path / "out"), "--dry-run"))
    assert result.exit_code == 0 and "1 job(s)" in result.output, result.output


def test_a_second_run_on_a_locked_folder_stops_at_once(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    with lock_output(out):
        start = time.perf_counter()
        result = invoke(*run_args(str(write_spec(tmp_path)), "--framework", "fake", "--out", str(out)))
        assert time.perf_counter() - start < 20
    assert_clean_failure(result, 2, f"another `harness run` (process {os.getpid()}) is writing to {out}", "--out")
    assert not (out / "results.json").exists()


def test_concurrent_runs_on_one_folder_keep_the_first_runs_results(tmp_path: Path) -> None:
    out = tmp_path / "out"
    command = [sys.executable, "-c", "from harness.cli import main; main()",
               *run_args(str(write_spec(tmp_path)), "--framework", "fake_hang", "--timeout", "60", "--out", str(out))]
    first = start_interruptible(command)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (out / LOCK_FILE).exists() or not (out / LOCK_FILE).read_text().strip():
            assert first.poll() is None, first.communicate()[0]
            time.sleep(0.2)
        second = invoke(*run_args(str(write_spec(tmp_path)), "--framework", "fake", "--out", str(out)))
        assert_clean_failure(second, 2, f"another `harness run` (process {first.pid}) is writing to {out}")
    finally:
        first.send_signal(signal.SIGINT)
        output, _ = first.communicate(timeout=60)
    assert first.returncode == 130, output
    assert [job["framework"] for job in json.loads((out / "results.json").read_text())["jobs"]] == ["fake_hang"]


def test_stale_temporary_files_of_a_crashed_run_are_removed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "jobs").mkdir(parents=True)
    stale = [out / ".results.json.k2j3h4.tmp", out / "jobs" / ".tiny__fake__seed0.json.abc123.tmp"]
    for path in stale:
        path.write_text("{half a fi")
    keep = out / "notes.txt"
    keep.write_text("mine")
    code, output = harness_run(str(write_spec(tmp_path)), "--framework", "fake", "--out", str(out))
    assert code == 0, output
    assert not any(path.exists() for path in stale) and keep.exists()
    assert not list(out.rglob("*.tmp"))


def test_the_longest_valid_names_give_file_names_the_file_system_accepts(tmp_path: Path) -> None:
    spec = tmp_path / "long.yaml"
    text = TINY_SPEC.format(lr=0.1).replace("name: tiny", "name: " + "n" * 64)
    spec.write_text(text + "variants:\n  " + "v" * 64 + ": {train: {batch_size: 16}}\n")
    jobs = plan_jobs(load_networks(spec), RunOptions(frameworks=["f" * 40], seeds=[2**31 - 1]))
    for job in jobs:
        temporary = f".{job.file_name[:40]}.abcdefgh.tmp"
        assert len(job.file_name.encode()) < 255 and len(temporary) < 255
        path = job.result_path(tmp_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")


# ----------------------------------------------------------------------------- output folder


def test_out_under_a_file_fails_before_any_job(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("in the way")
    start = time.perf_counter()
    result = invoke(*run_args(str(write_spec(tmp_path)), "--framework", "fake", "--out", str(blocker / "out")))
    assert_clean_failure(result, 2, f"the output folder {blocker / 'out'} cannot be created", "a file (not a folder)")
    assert time.perf_counter() - start < 20
    assert "tiny / fake" not in result.output


def test_a_read_only_out_fails_before_any_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Root ignores permission bits, so the read-only file system is simulated: every write in the
    folder gets the OSError (EROFS) the kernel gives on a read-only mount."""
    out = tmp_path / "out"
    real_open = open

    def read_only_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        if str(os.fspath(file)).startswith(str(out)):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fspath(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(outdir, "open", read_only_open, raising=False)
    result = invoke(*run_args(str(write_spec(tmp_path)), "--framework", "fake", "--out", str(out)))
    assert_clean_failure(result, 2, f"the output folder {out} is not writable: it is on a read-only file system")
    assert not (out / "jobs" / "tiny__fake__seed0.json").exists()


# ----------------------------------------------------------------------------- options


@pytest.mark.parametrize(("args", "says"), [
    (("--timeout", "nan"), "not a finite number"),
    (("--timeout", "inf"), "not a finite number"),
    (("--timeout", "-1"), "--timeout"),
    (("--seed", str(2**70)), "--seed"),
    (("--seeds", f"0,{2**70}"), "from 0 to 2147483647"),
    (("--epochs", str(10**30)), "--epochs"),
    (("--batch-size", "0"), "--batch-size"),
    (("--threads", str(10**9)), "--threads"),
])
def test_absurd_options_are_refused_before_anything_runs(tmp_path: Path, args: tuple[str, ...],
                                                        says: str) -> None:
    result = invoke("run", str(write_spec(tmp_path)), "--framework", "fake", "--out", str(tmp_path / "out"), *args)
    assert_clean_failure(result, 2, says)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("factor", ["nan", "inf"])
def test_compare_refuses_a_factor_that_is_not_finite(tmp_path: Path, factor: str) -> None:
    assert_clean_failure(invoke("compare", "a.json", "b.json", "--factor", factor), 2, "not a finite number")


# ----------------------------------------------------------------------------- how a worker died


@pytest.mark.parametrize(("returncode", "tail", "before", "after", "status", "says"), [
    (-9, "", 0, 0, "failed", "killed by signal 9 (SIGKILL); nothing shows that it ran out of memory"),
    (-9, "", None, None, "failed", "killed by signal 9 (SIGKILL)"),
    (-9, "", 3, 4, "oom", "out-of-memory killer (the cgroup's oom_kill count rose from 3 to 4)"),
    (1, "MemoryError: cannot allocate", None, None, "oom", "ran out of memory (its output says so"),
    (-6, "terminate called after throwing an instance of 'std::bad_alloc'", 0, 0, "oom", "its output says so"),
    (-15, "", 0, 0, "failed", "killed by signal 15 (SIGTERM)"),
    (3, "", 0, 0, "failed", "exited with code 3"),
])
def test_a_dead_worker_is_called_oom_only_with_evidence(returncode: int, tail: str, before: int | None,
                                                        after: int | None, status: str, says: str) -> None:
    got, reason = classify_death(returncode, tail, before, after)
    assert got == status and says in reason


def test_kill_9_of_a_worker_is_recorded_as_a_kill_not_oom(tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, output = harness_run(str(write_spec(tmp_path)), "--framework", "fake_killed,fake", "--out", str(out))
    assert code == 1, output
    killed = job_file(out, "fake_killed")
    assert killed["status"] == "failed" and "killed by signal 9 (SIGKILL)" in killed["reason"], killed["reason"]
    assert job_file(out, "fake")["status"] == "ok"


# ----------------------------------------------------------------------------- divergence


def test_window_is_twenty_steps_or_one_short_epoch() -> None:
    assert [window_for(steps) for steps in (1, 3, 4, 19, 20, 1000)] == [3, 3, 4, 19, 20, 20]


@pytest.mark.parametrize(("losses", "rule"), [
    ([2.3, 2.0, math.nan], NON_FINITE),
    ([2.3, math.inf], NON_FINITE),
    ([2.3] + [50.0, 64.0] * 10, ABOVE_CHANCE),
    ([30.0] * 19 + [1.0] + [30.0] * 19, None),
    ([2.3, 1.5, 0.9, 0.4] * 20, None),
    ([23.1] * 20, ABOVE_CHANCE),
    ([23.0] * 40, None),
])
def test_one_divergence_rule_for_every_framework(losses: list[float], rule: str | None) -> None:
    watch = DivergenceWatch(classes=10)
    fired = next((verdict for verdict in map(watch.update, losses) if verdict), None)
    assert (fired.rule if fired else None) == rule
    if fired:
        assert fired.rule in fired.reason


SATURATING_SPEC = TINY_SPEC.replace("train_size: 64", "train_size: 1024").replace("epochs: 2", "epochs: 3")


def test_a_loss_that_saturates_instead_of_nan_is_diverged(tmp_path: Path) -> None:
    spec = tmp_path / "tiny.yaml"
    spec.write_text(SATURATING_SPEC.format(lr=1e6))
    out = tmp_path / "out"
    code, output = harness_run(str(spec), "--framework", "fake_saturate", "--out", str(out))
    assert code == 0, output
    job = job_file(out, "fake_saturate")
    assert job["status"] == "diverged" and job["diverged_rule"] == ABOVE_CHANCE, job.get("reason")
    assert all(math.isfinite(epoch["train_loss"]) for epoch in job["history"])
    assert "above_chance" in job["reason"] and "10 x ln(3)" in job["reason"]


def test_a_nan_loss_names_its_rule(tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, output = harness_run(str(write_spec(tmp_path, lr=1e6)), "--framework", "fake", "--out", str(out))
    assert code == 0, output
    job = job_file(out, "fake")
    assert job["status"] == "diverged" and job["diverged_rule"] == NON_FINITE and "non_finite" in job["reason"]


def test_resume_ignores_a_hostile_job_file(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "jobs").mkdir(parents=True)
    (out / "jobs" / "tiny__fake__seed0.json").write_text("[" * 100_000 + "]" * 100_000)
    code, output = harness_run(str(write_spec(tmp_path)), "--framework", "fake", "--out", str(out), "--resume")
    assert code == 0 and "kept" not in output and "Traceback" not in output, output
    assert job_file(out, "fake")["status"] == "ok"
