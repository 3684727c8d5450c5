"""Choosing an executor for ``harness run``, and the fairness notes on where jobs ran (no Ray needed)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import main
from harness.results import JobResult, Node
from harness.runner.fairness import fairness_notes
from run_support import write_spec


def job(framework: str, cpu: str = "Xeon", gpu: str | None = None, concurrent: int = 0, grade: bool = True,
        status: str = "ok") -> JobResult:
    return JobResult(network="tiny", spec_file="tiny.yaml", framework=framework, seed=0, status=status,  # type: ignore[arg-type]
                     epochs_requested=1, batch_size=32, node=Node(hostname="h", cpu=cpu, gpu=gpu, concurrent_jobs=concurrent),
                     timing_grade=grade)


def test_one_kind_of_machine_and_no_sharing_gives_no_note() -> None:
    assert fairness_notes([job("keras"), job("torch")]) == []


def test_different_hardware_is_noted() -> None:
    notes = fairness_notes([job("keras"), job("torch", cpu="EPYC"), job("paddle", cpu="Ryzen", status="failed")])
    assert len(notes) == 1 and "different hardware" in notes[0] and "EPYC; Xeon" in notes[0]
    assert "Ryzen" not in notes[0], "a failed job measured nothing"
    gpu_notes = fairness_notes([job("keras", gpu="H100"), job("torch", gpu="A100")])
    assert "Xeon + A100; Xeon + H100" in gpu_notes[0]


def test_jobs_that_shared_their_node_are_noted() -> None:
    notes = fairness_notes([job("keras"), job("torch", concurrent=2, grade=False)])
    assert len(notes) == 1 and "not timing-grade" in notes[0] and "torch seed 0 (2 concurrent)" in notes[0]


def test_a_lowered_priority_is_noted() -> None:
    low = job("torch")
    assert low.node is not None
    low.node.niceness = 15
    notes = fairness_notes([job("keras"), low])
    assert len(notes) == 1 and "niceness 15" in notes[0] and "RAY_worker_niceness=0" in notes[0]


def test_ray_options_need_the_ray_executor(tmp_path: Path, fake_plugin: None) -> None:
    for option in (["--concurrency", "2"], ["--ray-address", "auto"]):
        result = CliRunner().invoke(main, ["run", str(write_spec(tmp_path)), "--framework", "fake", *option,
                                           "--out", str(tmp_path / "out")])
        assert result.exit_code == 2 and "--executor ray" in result.output and "Traceback" not in result.output


def test_ray_not_installed_is_a_clear_error(tmp_path: Path, fake_plugin: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` finds when Ray is not installed: ImportError
    result = CliRunner().invoke(main, ["run", str(write_spec(tmp_path)), "--framework", "fake", "--executor", "ray",
                                       "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert "pip install 'harness[ray]'" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()
