"""Compiled mode beside eager: job identity and resume, compile cost apart, compile failures, parity.

The orchestration tests use the fake plugin (tests/fixtures/run_fake_plugin.py): ``fake_jit``
offers a compiled mode, ``fake`` offers none, ``fake_badjit``'s compiler fails. The parity and
compiler-failure tests run the real frameworks on a tiny network (torch.compile's first compile
takes a while on a busy CPU).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import main
from harness.commands import parity as parity_command
from harness.plugins import discover, frameworks
from harness.testing.plugin import unavailable_reason
from harness.report.compare import compare_runs
from harness.results import read_job, read_run
from harness.runner.child import LocalExecutor
from harness.framework import ModeError
from harness.runner.jobs import RunOptions, compiled_left_out, plan_jobs
from harness.runner.parity import check_network
from harness.runner.train_task import COMPILER_LINES
from harness.spec import load_network
from report_support import sample_run
from run_support import write_spec

INSTALLED = frameworks()
FIXTURES = Path(__file__).parent / "fixtures"
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
        reason = unavailable_reason(name, INSTALLED)
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


def test_naming_a_framework_without_a_compiled_mode_is_an_error_before_anything_runs(tmp_path: Path,
                                                                                      fake_plugin: None) -> None:
    out = tmp_path / "out"
    code, output = harness_run(str(write_spec(tmp_path)), "--framework", "fake_jit,fake", "--mode", "eager,compiled",
                               "--out", str(out), "--no-report")
    assert code == 2, output
    assert "fake offers no compiled mode" in " ".join(output.split()) and "--framework all" in output
    assert not out.exists(), "nothing ran"


def test_every_framework_leaves_out_the_compiled_jobs_it_cannot_run(tmp_path: Path, fake_plugin: None) -> None:
    """``--framework all``: a framework without a compiled mode keeps its eager job and has its
    compiled job left out with a note (a dry run: the planning is what is tested)."""
    code, output = harness_run(str(write_spec(tmp_path)), "--framework", "all", "--mode", "eager,compiled",
                               "--out", str(tmp_path / "out"), "--dry-run")
    assert code == 0, output
    jobs = {line.removeprefix("job ").strip() for line in output.splitlines() if line.startswith("job ")}
    assert {"tiny / fake / seed 0", "tiny / fake_jit / seed 0", "tiny / fake_jit / compiled / seed 0"} <= jobs
    assert "tiny / fake / compiled / seed 0" not in jobs
    text = " ".join(output.split())
    assert "fake: compiled job left out, the plugin offers no compiled mode" in text
    offered = {name for name, registered in INSTALLED.items() if registered.framework.compiled_mode is not None}
    for name, registered in INSTALLED.items():
        if registered.unavailable_reason() is None and name not in offered:
            assert f"tiny / {name} / compiled / seed 0" not in jobs and f"{name}: compiled job left out" in text
    if "jax" in INSTALLED and INSTALLED["jax"].unavailable_reason() is None:
        assert "jax: compiled job left out, the plugin offers no compiled mode; its eager step is already compiled by jax.jit" \
            in text


def test_parity_over_every_framework_leaves_out_those_without_a_compiled_mode(tmp_path: Path, fake_plugin: None,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """``harness parity --framework all --mode compiled`` checks no compiled participant for a
    framework that offers none (a note says so); naming one explicitly is an error (exit 2)."""
    asked: dict[str, object] = {}
    monkeypatch.setattr(parity_command, "check_networks", lambda *args, **options: asked.update(options) or [])
    spec = str(write_spec(tmp_path))
    outcome = CliRunner().invoke(main, ["parity", spec, "--framework", "all", "--mode", "compiled"])
    assert outcome.exit_code == 0, outcome.output
    lacking = {name for name, registered in discover().frameworks.items()
               if registered.unavailable_reason() is None and registered.framework.compiled_mode is None}
    assert "fake" in lacking and set(asked["without_compiled"]) == lacking  # type: ignore[arg-type]
    assert "fake: compiled job left out, the plugin offers no compiled mode" in " ".join(outcome.output.split())
    named = CliRunner().invoke(main, ["parity", spec, "--framework", "fake", "--mode", "compiled"])
    assert named.exit_code == 2 and "fake offers no compiled mode" in " ".join(named.output.split())


def test_compiled_jobs_left_out_are_not_planned_nor_parity_participants(tmp_path: Path) -> None:
    network = load_network(write_spec(tmp_path))
    options = RunOptions(frameworks=["torch", "jax"], modes=["eager", "compiled"], threads=1, without_compiled=["jax"])
    assert [(job.config.framework, job.config.mode) for job in plan_jobs([network], options)] == [
        ("torch", "eager"), ("torch", "compiled"), ("jax", "eager")]


def test_compiled_jobs_are_left_out_only_over_every_framework(tmp_path: Path, fake_plugin: None) -> None:
    registered = discover().frameworks
    lacking = {"fake": registered["fake"].framework}
    assert compiled_left_out(lacking, ["eager"], every=False) == {}
    with pytest.raises(ModeError, match="fake offers no compiled mode"):
        compiled_left_out(lacking, ["eager", "compiled"], every=False)
    with pytest.raises(ModeError, match="none of fake offers a compiled mode"):
        compiled_left_out(lacking, ["compiled"], every=True)
    offering = lacking | {"fake_jit": registered["fake_jit"].framework}
    assert set(compiled_left_out(offering, ["compiled"], every=True)) == {"fake"}


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


@pytest.mark.parametrize("framework", [p for p in real_frameworks() if p.values[0] in ("keras", "torch")])
def test_compiled_mode_compiles_what_trains_and_predicts(tmp_path: Path, framework: str) -> None:
    """Directly, not through a compiler failure: in compiled mode the training step and the forward
    pass the plugin runs are XLA functions (Keras) or torch.compile's wrapper (PyTorch), as the
    settings say; in eager mode neither is."""
    spec = _tiny_cnn(tmp_path)
    found = {}
    for mode in ("eager", "compiled"):
        probe = subprocess.run([sys.executable, str(FIXTURES / "compiled_probe.py"), framework, mode, str(spec)],
                               capture_output=True, text=True, timeout=600)
        assert probe.returncode == 0, probe.stderr[-3000:]
        found[mode] = json.loads(probe.stdout.splitlines()[-1])
    assert found["eager"]["compiled"] == {"train": False, "predict": False} and not found["eager"]["settings"]
    assert found["compiled"]["compiled"] == {"train": True, "predict": True}
    settings = found["compiled"]["settings"]
    if framework == "keras":
        assert settings["jit_compile"]["value"] is True and "XLA" in settings["function"]["note"]
    else:
        assert settings["function"]["value"] == "torch.compile" and settings["backend"]["value"] == "inductor"
