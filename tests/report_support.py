"""A realistic run's results for the report and compare tests, built from the harness.results models.

Two networks (LeNet with max-pooling, LeNet with stride-2 convolutions) in three frameworks, ten
epochs each, seeded measurements with raw step-time samples; one job failed, one diverged.
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from harness.neutral.oracle import as_json
from harness.neutral.oracle import analyse, check_expect
from harness.results import DataInfo, Environment, Epoch, FrameworkCount, JobResult, NetworkCheck, RunResults, Timing
from harness.results import write_run as write_results
from harness.spec import load_networks
from harness.spec.network import expand
from harness.spec.schema import Spec

REPO = Path(__file__).resolve().parents[1]
FRAMEWORKS = ("keras", "paddle", "torch")
VERSIONS = {"keras": "3.12.0 (tensorflow 2.21.0)", "paddle": "3.3.0", "torch": "2.13.0"}
STEP_MS = {("lenet", "keras"): 6.1, ("lenet", "paddle"): 15.8, ("lenet", "torch"): 5.4,
           ("lenet_stride2", "keras"): 6.9, ("lenet_stride2", "paddle"): 17.2, ("lenet_stride2", "torch"): 6.0}
FAILED = ("lenet_stride2", "paddle")
DIVERGED = ("lenet", "torch")
LENET = {
    "name": "lenet", "title": "LeNet-5", "source": "Reference experiment E3a", "classes": 10, "input": [28, 28, 1],
    "backbone": [
        {"type": "conv", "filters": 6, "kernel": 5, "padding": 2, "activation": "relu"},
        {"type": "max_pool", "pool": 2},
        {"type": "conv", "filters": 16, "kernel": 5, "activation": "relu"},
        {"type": "max_pool", "pool": 2},
    ],
    "head": {"type": "flatten", "hidden": [120, 84]},
    "train": {"optimizer": {"name": "adam", "lr": 0.001, "epsilon": 1e-8}, "batch_size": 64, "epochs": 10},
    "dataset": {"name": "mnist"},
    "expect": {"params": {"total": 61706}},
}


def network_checks() -> dict[str, NetworkCheck]:
    """``harness check --json`` objects of the two networks, from the real oracle."""
    networks = [expand(Spec.model_validate(LENET), path="specs/lenet.yaml"), *load_networks(REPO / "specs/lenet_stride2.yaml")]
    checks = {}
    for network in networks:
        analysis = analyse(network)
        checks[network.key] = as_json(network, analysis, check_expect(analysis, network.spec.expect))
    return checks


def timing(rng: np.random.Generator, median_ms: float, count: int, scale: float = 1.0) -> Timing:
    """``count`` log-normal timings around ``median_ms`` (times ``scale``), summarised."""
    samples = scale * median_ms * rng.lognormal(0.0, 0.08, count)
    p10, p50, p90 = np.percentile(samples, [10, 50, 90])
    return Timing(median_ms=float(p50), p10_ms=float(p10), p90_ms=float(p90), count=count,
                  samples_ms=[round(float(s), 4) for s in samples])


def history(rng: np.random.Generator, epochs: int, diverge_at: int | None = None) -> list[Epoch]:
    """Falling losses and rising accuracies; NaN losses from ``diverge_at`` on."""
    result = []
    for epoch in range(1, epochs + 1):
        train_loss = 0.55 * epoch ** -0.6 * (1 + 0.03 * rng.standard_normal())
        test_loss = train_loss * 1.1 + 0.02
        if diverge_at is not None and epoch >= diverge_at:
            result.append(Epoch(epoch=epoch, train_loss=math.nan, train_accuracy=0.1, test_loss=math.nan,
                                test_accuracy=0.098, seconds=9.0))
            break
        result.append(Epoch(epoch=epoch, train_loss=train_loss, train_accuracy=1 - train_loss / 4,
                            test_loss=test_loss, test_accuracy=min(0.995, 0.86 + 0.012 * epoch - 0.004 * rng.random()),
                            seconds=float(9.0 + rng.random()), steps=938))
    return result


def settings(framework: str) -> dict[str, dict[str, dict]]:
    """Effective settings as a plugin reports them (``EffectiveSettings.as_dict()``)."""
    epsilon = {"keras": 1e-8, "paddle": 1e-8, "torch": 1e-8}[framework]
    init = {"keras": "glorot_uniform", "paddle": "xavier_normal", "torch": "kaiming_uniform(a=sqrt(5))"}[framework]
    return {
        "optimizer": {
            "name": {"value": "adam", "neutral": "adam", "default": False, "note": ""},
            "lr": {"value": 0.001, "neutral": 0.001, "default": False, "note": ""},
            "epsilon": {"value": epsilon, "neutral": 1e-8, "default": False, "note": ""},
            "amsgrad": {"value": False, "neutral": None, "default": True, "note": ""},
        },
        "conv_1": {
            "kernel_init": {"value": init, "neutral": None, "default": True, "note": ""},
            "padding": {"value": 2 if framework != "keras" else "zero-pad 2 + valid", "neutral": 2, "default": False,
                        "note": "explicit ZeroPadding2D" if framework == "keras" else ""},
        },
    }


def job(network: str, framework: str, seed: int, epochs: int, samples: int, checks: dict[str, NetworkCheck],
        shortened: bool) -> JobResult:
    """One job's result, seeded by its position, failed or diverged where the module says so."""
    rng = np.random.Generator(np.random.PCG64([seed, FRAMEWORKS.index(framework), len(network)]))
    status, reason, epochs_run = "ok", None, epochs
    if (network, framework) == FAILED:
        status, reason, epochs_run = "failed", "worker exited with signal 9 (SIGKILL) | killed by the OOM killer?\nlast log line: epoch 3", 2
    diverged = (network, framework) == DIVERGED
    if diverged:
        status, reason = "diverged", "train loss became nan at epoch 4, step 212"
    step = None if status == "failed" else timing(rng, STEP_MS[(network, framework)], samples)
    macs = checks[network].macs
    return JobResult(
        network=network, spec_file=checks[network].file, framework=framework, seed=seed, status=status,
        reason=reason, epochs_requested=epochs, spec_epochs=10, batch_size=64,
        params=checks[network].params,
        history=history(rng, epochs_run, diverge_at=4 if diverged else None),
        step_time=step,
        images_per_second=None if step is None else 64_000 / step.median_ms,
        latency_batch_1=None if step is None else timing(rng, 0.4, 50),
        latency_batch=None if step is None else timing(rng, step.median_ms / 3, 50),
        build_seconds=float(0.2 + rng.random()), first_step_seconds=float(0.5 + rng.random()),
        peak_rss_mb=float(600 + 300 * rng.random()),
        gflops=None if step is None else 6 * macs * 64 / step.median_ms / 1e6,
        effective_settings=settings(framework),
        environment=Environment(harness_version="0.1.0", git_commit="3b6e9b3c0ffee0123456789abcdef0123456789a",
                                python="3.11.2", os="Linux-6.1 (Debian 12)", cpu="Intel Xeon @ 2.2GHz", cpu_count=2,
                                framework=framework, framework_version=VERSIONS[framework], device="cpu",
                                threads=2, thread_pools={"openmp": 2, f"{framework}.intra_op": 2},
                                determinism={"deterministic_ops": True}),
        data=DataInfo(name="fashion-mnist", requested="mnist", source="/usr/share/datasets/fashion-mnist",
                      checksum="9f2c5a7d1e6b4c3a8d0f1e2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e",
                      train_size=512 if shortened else 60000, test_size=10000, full_train_size=60000,
                      full_test_size=10000, image_shape=[28, 28, 1], fitted_to=[28, 28, 1], fit="resize"),
        definitions={"step_time": "one optimiser step on one batch, after 10 warm-up steps",
                     "images_per_second": "batch size / median step time"},
        started_at=f"2025-06-01T10:{FRAMEWORKS.index(framework) * 10 + len(network):02d}:00+00:00",
        finished_at=f"2025-06-01T11:{FRAMEWORKS.index(framework) * 10 + len(network):02d}:00+00:00",
    )


def framework_params(checks: dict[str, NetworkCheck]) -> dict[str, dict[str, FrameworkCount]]:
    """Per network and framework, the ``harness params`` result: counts agree with the oracle."""
    result: dict[str, dict[str, FrameworkCount]] = {}
    for network, check in checks.items():
        layers = {layer.name: {"trainable": layer.trainable, "non_trainable": layer.non_trainable}
                  for layer in check.layers if layer.total}
        result[network] = {fw: FrameworkCount.model_validate({"layers": layers, "params": check.params,
                                                              "effective_settings": settings(fw)})
                           for fw in FRAMEWORKS}
    return result


def sample_run(epochs: int = 10, samples: int = 300, shortened: bool = False) -> RunResults:
    """The whole run: jobs of every network and framework (seed 0), checks, counts, parity, notes."""
    checks = network_checks()
    jobs = [job(network, framework, 0, epochs, samples, checks, shortened)
            for network in reversed(list(checks)) for framework in FRAMEWORKS]
    parity = [
        {"network": "lenet", "input_shape": [4, 28, 28, 1], "a": "keras", "b": "torch", "max_abs": 2.4e-6,
         "max_rel": 3.1e-6, "tolerance": 1e-4, "first_divergent_layer": None, "passed": True},
        {"network": "lenet_stride2", "input_shape": [4, 28, 28, 1], "a": "paddle", "b": "reference", "max_abs": 0.31,
         "max_rel": 0.8, "tolerance": 1e-4, "first_divergent_layer": "conv_2", "passed": False},
    ]
    return RunResults(
        command="harness run specs/lenet.yaml specs/lenet_stride2.yaml --framework all --dataset fashion-mnist",
        specs=["specs/lenet.yaml", "specs/lenet_stride2.yaml"], networks=checks, jobs=jobs, parity=parity,
        framework_params=framework_params(checks),
        notes=["framework 'mxnet' skipped: the module 'mxnet' is not installed"],
        started_at="2025-06-01T10:00:00+00:00", finished_at="2025-06-01T11:30:00+00:00",
    )


def write_run(run: RunResults, directory: Path) -> Path:
    """Write ``run`` as ``directory/results.json`` (its samples in ``samples.json.gz``) and return the path."""
    path = directory / "results.json"
    write_results(path, run)
    return path


def planted(tmp_path: Path, source: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    """A copy of a committed result folder with ``change`` applied to its results object."""
    target = tmp_path / source.name
    target.mkdir()
    data = json.loads((source / "results.json").read_text(encoding="utf-8"))
    change(data)
    (target / "results.json").write_text(json.dumps(data), encoding="utf-8")
    for side in ("samples_file", "details_file"):
        if data.get(side):
            shutil.copyfile(source / data[side], target / data[side])
    return target
