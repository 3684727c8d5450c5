"""Compiled mode beside eager: job identity and resume, compile cost apart, compile failures, parity.

The orchestration tests use the fake plugin (tests/fixtures/run_fake_plugin.py): ``fake_jit``
offers a compiled mode, ``fake`` offers none, ``fake_badjit``'s compiler fails. The parity and
compiler-failure tests run the real frameworks on a tiny network (torch.compile's first compile
takes a while on a busy CPU).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import main
from harness.plugins import discover, frameworks
from harness.report.compare import compare_runs
from harness.results import read_job, read_run
from harness.runner.child import LocalExecutor
from harness.runner.jobs import RunOptions, plan_jobs
from harness.runner.parity import check_network
from harness.runner.train_task import COMPILER_LINES
from harness.spec import load_network
from report_support import sample_run
from run_support import write_spec

INSTALLED = frameworks()
REAL = ("keras", "torch", "paddle")

TINY_CNN = """\
name: tiny_cnn
title: Tiny CNN
source: test
classes: 3
input: [8, 8, 1]
backbone:
  - {type: conv, filters: 2, kernel: 3, padding: 1, activation: relu}
  - {type: batch_norm}
  - {type: max_pool, pool: 2}
head: {type: flatten, hidden: [4], dropout: 0.25}
train:
  optimizer: {name: adam, lr: 0.001}
  batch_size: 16
  epochs: 1
dataset: {name: synthetic, train_size: 40, test_size: 16}
"""


def real_frameworks() -> list[pytest.param]:
    params = []
    for name in REAL:
        reason = "its plugin is not installed" if name not in INSTALLED else INSTALLED[name].unavailable_reason()
        params.append(pytest.param(name, marks=pytest.mark.skipif(reason is not None, reason=f"{name}: {reason}")))
    return params


def harness_run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["run", *args, "--quiet", "--threads", "1", "--warmup-steps", "0",
                                       "--latency-repeats", "1", "--no-parity"])
    return result.exit_code, result.output


def job_file(out: Path, name: str) -> dict:
    return read_job(out / "jobs" / name).model_dump(mode="json")


def test_mode_is_part_of_a_jobs_identity_and_eager_keeps_its_file_name(tmp_path: Path) -> None:
    network = load_network(write_spec(tmp_path))
    jobs = plan_jobs([network], RunOptions(frameworks=["torch", "keras"], modes=["eager", "compiled"], threads=1))
    assert [(job.config.framework, job.config.mode) for job in jobs] == [
        ("torch", "eager"), ("torch", "compiled"), ("keras", "eager"), ("keras", "compiled")]
    assert [job.file_name for job in jobs[:2]] == ["tiny__torch__seed0.json", "tiny__torch__compiled__seed0.json"]
    assert jobs[1].key == "tiny / torch / compiled / seed 0"
    assert jobs[1].request().target().mode == "compiled"
    assert jobs[0].config.comparable()["mode"] == "eager" != jobs[1].config.comparable()["mode"]
    assert plan_jobs([network], RunOptions(frameworks=["torch"], threads=1))[0].config.mode == "eager"


def test_both_modes_run_resume_and_time_each_shape_apart(tmp_path: Path, fake_plugin: None) -> None:
    out, spec = tmp_path / "out", str(write_spec(tmp_path))
    (tmp_path / "tiny.yaml").write_text((tmp_path / "tiny.yaml").read_text().replace("train_size: 64", "train_size: 70"))
    code, output = harness_run(spec, "--framework", "fake_jit", "--mode", "eager,compiled", "--out", str(out))
    assert code == 0, output
    run = read_run(out / "results.json")
    assert [(job.label, job.status) for job in run.jobs] == [("fake_jit", "ok"), ("fake_jit:compiled", "ok")]
    compiled = job_file(out, "tiny__fake_jit__compiled__seed0.json")
    assert compiled["mode"] == "compiled" and compiled["config"]["mode"] == "compiled"
    # 70 images in batches of 32: shapes 32 and 6, each one's first step timed apart; 2 epochs of 2 full batches.
    assert list(compiled["compile_seconds"]) == ["32x8x8x1", "6x8x8x1"]
    assert compiled["step_time"]["count"] == 3, "the step statistics hold the full batches after their shape's first"
    report = (out / "report.md").read_text()
    assert "Eager and compiled" in report and "speed-up" in report

    # An eager result written before modes existed (no "mode" in its config) is still resumed.
    eager_file = out / "jobs" / "tiny__fake_jit__seed0.json"
    stored = json.loads(eager_file.read_text())
    del stored["config"]["mode"]
    eager_file.write_text(json.dumps(stored))
    code, output = harness_run(spec, "--framework", "fake_jit", "--mode", "eager,compiled", "--out", str(out), "--resume")
    assert code == 0, output
    assert output.count("(kept from an earlier run)") == 2, output
    code, output = harness_run(spec, "--framework", "fake_jit", "--mode", "compiled", "--epochs", "1", "--out", str(out),
                               "--resume")
    assert "kept" not in output and len(job_file(out, "tiny__fake_jit__compiled__seed0.json")["history"]) == 1


def test_compare_matches_jobs_by_mode() -> None:
    """A compiled job is compared with the compiled job of the other run, never with an eager one."""
    old = sample_run(epochs=1)
    new = old.model_copy(deep=True)
    compiled = next(job for job in new.jobs if job.framework == "torch").model_copy(update={"mode": "compiled"})
    new.jobs.append(compiled)
    changes = compare_runs(old, new)
    assert {(c.framework, c.verdict) for c in changes if c.metric == "job"} == {("torch:compiled", "only in NEW")}
    assert all(c.verdict != "only in NEW" for c in changes if c.framework == "torch")


def test_a_framework_without_a_compiled_mode_fails_that_job_clearly(tmp_path: Path, fake_plugin: None) -> None:
    out = tmp_path / "out"
    code, output = harness_run(str(write_spec(tmp_path)), "--framework", "fake", "--mode", "eager,compiled",
                               "--out", str(out), "--no-report")
    assert code == 1, output
    assert job_file(out, "tiny__fake__seed0.json")["status"] == "ok"
    failed = job_file(out, "tiny__fake__compiled__seed0.json")
    assert failed["status"] == "failed" and "offers no compiled mode" in failed["reason"]


def test_a_compiler_failure_is_recorded_with_its_first_lines(tmp_path: Path, fake_plugin: None) -> None:
    out = tmp_path / "out"
    code, output = harness_run(str(write_spec(tmp_path)), "--framework", "fake_badjit,fake_jit", "--mode", "compiled,eager",
                               "--out", str(out), "--no-report")
    assert code == 1, output
    statuses = {job.label: job.status for job in read_run(out / "results.json").jobs}
    assert statuses == {"fake_badjit:compiled": "failed", "fake_badjit": "ok", "fake_jit:compiled": "ok", "fake_jit": "ok"}
    reason = job_file(out, "tiny__fake_badjit__compiled__seed0.json")["reason"]
    assert "could not compile the network (training step at 32x8x8x1)" in reason
    assert "cannot lower op 0" in reason and f"cannot lower op {COMPILER_LINES}" not in reason
    assert "more lines in the log" in reason


@pytest.mark.parametrize("framework", real_frameworks())
def test_compiled_logits_match_eager_and_the_reference(tmp_path: Path, framework: str) -> None:
    network = load_network(_tiny_cnn(tmp_path))
    result = check_network(network, [framework], LocalExecutor(discover()), modes=["compiled"], threads=1, timeout=900)
    assert not result.failures, result.failures
    name = f"{framework}:compiled"
    assert result.logits_from[name].startswith("predict (")
    assert result.compiled_vs_eager[name] <= result.tolerance
    assert [(pair.a, pair.b) for pair in result.pairs] == [("reference", name)]
    assert result.passed, [(pair.max_abs, pair.first_divergent_layer) for pair in result.pairs]


@pytest.mark.parametrize("framework", [p for p in real_frameworks() if p.values[0] == "torch"])
def test_a_missing_cpp_compiler_fails_only_the_compiled_job(tmp_path: Path, framework: str,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CXX", str(tmp_path / "no-such-g++"))
    monkeypatch.setenv("TORCHINDUCTOR_FORCE_DISABLE_CACHES", "1")
    out = tmp_path / "out"
    code, output = harness_run(str(_tiny_cnn(tmp_path)), "--framework", framework, "--mode", "eager,compiled",
                               "--out", str(out), "--no-report")
    assert code == 1, output
    assert job_file(out, f"tiny_cnn__{framework}__seed0.json")["status"] == "ok"
    failed = job_file(out, f"tiny_cnn__{framework}__compiled__seed0.json")
    assert failed["status"] == "failed"
    assert "could not compile the network" in failed["reason"] and "no-such-g++" in failed["reason"]


def _tiny_cnn(folder: Path) -> Path:
    path = folder / "tiny_cnn.yaml"
    path.write_text(TINY_CNN)
    return path
