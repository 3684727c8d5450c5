"""Eager against compiled mode, per framework, for LeNet and E5a (pytest-benchmark).

Each case trains one network in one framework twice through ``harness run`` (``--mode
eager,compiled``, each job in its own worker) and records the harness's own steady-state step
times, the speed-up and the compile time as the benchmark's ``extra_info``; the benchmark's timing
is the wall time of the pair of jobs. The figures to read are in ``extra_info``:

    python3 -m pytest benchmarks/test_compiled_modes.py --benchmark-enable --benchmark-json=compiled.json

With the project's default ``--benchmark-disable`` it runs once as a plain test on a tiny slice
(``HARNESS_BENCH_STEPS`` full batches per job, default 4; raise it for steadier figures).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from harness.cli import main
from harness.plugins import frameworks
from harness.testing.plugin import unavailable_reason
from harness.results import JobResult, read_run
from harness.spec import load_networks

ROOT = Path(__file__).resolve().parent.parent
NETWORKS = {"lenet": (ROOT / "specs" / "lenet.yaml", None), "E5a": (ROOT / "specs" / "mnist_dropout_heads.yaml", "a_baseline")}
FRAMEWORKS = ("keras", "torch", "paddle")
STEPS = int(os.environ.get("HARNESS_BENCH_STEPS", "4"))
INSTALLED = frameworks()


def cases() -> list[Any]:
    params = []
    for network in NETWORKS:
        for name in FRAMEWORKS:
            reason = unavailable_reason(name, INSTALLED)
            params.append(pytest.param(network, name, id=f"{network}-{name}",
                                       marks=pytest.mark.skipif(reason is not None, reason=f"{name}: {reason}")))
    return params


def run_both_modes(network: str, framework: str, out: Path) -> list[JobResult]:
    """Train ``network`` in ``framework``, eager then compiled, on ``STEPS`` full batches each."""
    spec, variant = NETWORKS[network]
    batch_size = next(n for n in load_networks(spec) if n.variant == variant).spec.train.batch_size
    args = ["run", str(spec), "--framework", framework, "--mode", "eager,compiled", "--epochs", "1",
            "--limit-train", str(STEPS * batch_size), "--limit-test", str(batch_size), "--warmup-steps", "0",
            "--latency-repeats", "1", "--threads", "1", "--dataset", "synthetic", "--out", str(out),
            "--no-parity", "--no-report", "--quiet"] + (["--variant", variant] if variant else [])
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return read_run(out / "results.json").jobs


@pytest.mark.parametrize(("network", "framework"), cases())
def test_eager_against_compiled_step_time(benchmark: Any, tmp_path: Path, network: str, framework: str) -> None:
    jobs = benchmark.pedantic(run_both_modes, args=(network, framework, tmp_path), rounds=1, iterations=1)
    by_mode = {job.mode: job for job in jobs}
    assert {mode: job.status for mode, job in by_mode.items()} == {"eager": "ok", "compiled": "ok"}
    eager, compiled = by_mode["eager"], by_mode["compiled"]
    assert eager.step_time is not None and compiled.step_time is not None
    benchmark.extra_info.update({
        "network": network, "framework": framework, "timed_steps": compiled.step_time.count,
        "eager_step_ms": eager.step_time.median_ms, "compiled_step_ms": compiled.step_time.median_ms,
        "speed_up": eager.step_time.median_ms / compiled.step_time.median_ms,
        "compile_seconds": compiled.compile_seconds, "eager_first_step_seconds": eager.first_step_seconds,
        "compile_options": {name: setting.value for name, setting in compiled.effective_settings.get("compile", {}).items()},
    })
