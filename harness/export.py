"""A run's jobs in other tools' formats: pytest-benchmark's JSON storage format, and the list
github-action-benchmark's ``customSmallerIsBetter`` tool reads.

pytest-benchmark: one benchmark per job (its network as the group, ``framework-seedK`` as the
parameter), with the job's rounds (see :mod:`harness.runner.measure`) as ``data`` in seconds and
the statistics pytest-benchmark itself computes from them (:class:`pytest_benchmark.stats.Stats`),
so that ``pytest-benchmark compare FILE`` lists the jobs and github-action-benchmark (tool
``pytest``, which charts operations per second) can track them.

customSmallerIsBetter: a JSON list of ``{name, unit, value, range, extra}`` (github-action-benchmark's
``BenchmarkResult``: ``range`` and ``extra`` are optional strings), one entry per network, framework
(and mode, and thread count when the run has several) and measure, the seeds pooled, each measure
one where smaller is better: the median training step (ms, over every seed's rounds, range p10-p90),
the peak memory (MiB) and the test error (1 - final test accuracy; range: the 95% confidence
interval's half-width over seeds when there are several). Its history charts and alerts then
follow each (network, framework) from commit to commit.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from typing import Any

import numpy as np
from pytest_benchmark import __version__ as PYTEST_BENCHMARK_VERSION
from pytest_benchmark.stats import Stats

from harness.report.compare import MEASURES, Measure
from harness.report.stats import estimate
from harness.results import Environment, JobResult, RunResults


def job_data_seconds(job: JobResult) -> list[float]:
    """The job's step-time rounds (or, with too few steps for rounds, its steps), in seconds."""
    if job.step_time is None:
        return []
    return [value / 1000.0 for value in (job.step_time.rounds_ms or job.step_time.samples_ms)]


def benchmark_entry(job: JobResult) -> dict[str, Any] | None:
    """One job as a pytest-benchmark benchmark, or None when it has no step times."""
    data = job_data_seconds(job)
    if not data:
        return None
    stats = Stats()
    for value in data:
        stats.update(value)
    param = f"{job.framework}-seed{job.seed}"
    return {
        "group": job.network,
        "name": f"step[{job.network}-{param}]",
        "fullname": f"harness run::{job.network}::step[{param}]",
        "params": {"framework": job.framework, "seed": job.seed},
        "param": param,
        "extra_info": {
            "status": job.status,
            "unit": "seconds per training step (batch of %d); data = medians of the job's rounds" % job.batch_size,
            "step_median_ms": job.step_time.median_ms if job.step_time else None,
            "images_per_second": job.images_per_second,
            "gflops": job.gflops,
            "gemm_gflops": job.gemm_gflops,
            "test_accuracy": job.final_test_accuracy,
            "noise_flags": job.noise_flags,
            "threads": job.environment.threads if job.environment else None,
            "device": job.environment.device if job.environment else None,
        },
        "options": {"timer": "time.perf_counter", "disable_gc": False, "min_rounds": 1, "max_time": 0, "min_time": 0,
                    "warmup": bool(job.config.get("warmup_steps"))},
        "stats": {**stats.as_dict(), "data": data, "iterations": 1},
    }


def machine_info(environment: Environment | None) -> dict[str, Any]:
    """pytest-benchmark's ``machine_info`` from where the jobs ran."""
    if environment is None:
        return {}
    return {"node": "", "processor": environment.cpu, "machine": "", "python_version": environment.python,
            "system": environment.os, "cpu": {"brand_raw": environment.cpu, "count": environment.cpu_count}}


def commit_info(environment: Environment | None) -> dict[str, Any]:
    """pytest-benchmark's ``commit_info`` from the harness commit the jobs ran on."""
    if environment is None or environment.git_commit is None:
        return {"error": "the jobs did not record a harness commit"}
    return {"id": environment.git_commit, "dirty": bool(environment.git_dirty), "project": "harness", "branch": None}


def pytest_benchmark_json(run: RunResults) -> dict[str, Any]:
    """The run in pytest-benchmark's storage format (jobs without step times are left out)."""
    environment = next((job.environment for job in run.jobs if job.environment is not None), None)
    benchmarks = [entry for job in run.jobs if (entry := benchmark_entry(job)) is not None]
    return {
        "machine_info": machine_info(environment),
        "commit_info": commit_info(environment),
        "benchmarks": benchmarks,
        "datetime": run.finished_at or run.started_at or "",
        "version": PYTEST_BENCHMARK_VERSION,
    }


SMALLER_IS_BETTER: dict[str, tuple[str, str, Callable[[float], float]]] = {
    "step ms": ("training step", "ms", lambda value: value),
    "memory MiB": ("peak memory", "MiB", lambda value: value),
    "accuracy": ("test error", "1 - test accuracy", lambda value: 1.0 - value),
}
"""Each exported measure of :data:`harness.report.compare.MEASURES`: its name, unit and how a sample
becomes a figure where smaller is better."""


def _series(run: RunResults) -> dict[tuple[str, str, int | None], list[JobResult]]:
    """The run's jobs by network, framework in its mode, and thread count (None with one count)."""
    counts = {job.environment.threads for job in run.jobs if job.environment is not None}
    found: dict[tuple[str, str, int | None], list[JobResult]] = {}
    for job in sorted(run.jobs, key=lambda j: (j.network, j.label, j.seed)):
        threads = job.environment.threads if len(counts) > 1 and job.environment is not None else None
        found.setdefault((job.network, job.label, threads), []).append(job)
    return found


def _range(measure: Measure, values: list[float]) -> str | None:
    """The spread of ``values``: p10-p90 of step rounds, a 95% CI half-width over seeds, None for one value."""
    if len(values) < 2:
        return None
    if measure.timing:
        low, high = np.percentile(values, [10, 90])
        return f"p10-p90: {low:.4g}-{high:.4g}"
    found = estimate(values)
    return None if found is None or found.half_width is None else f"± {found.half_width:.4g} (95% CI, n={found.n})"


def custom_smaller_is_better(run: RunResults) -> list[dict[str, Any]]:
    """The run in github-action-benchmark's ``customSmallerIsBetter`` format (see the module's doc)."""
    entries = []
    for (network, label, threads), jobs in _series(run).items():
        environment = next((job.environment for job in jobs if job.environment is not None), None)
        for measure in MEASURES:
            title, unit, convert = SMALLER_IS_BETTER[measure.name]
            values = [convert(value) for value in measure.samples(jobs) if math.isfinite(value)]
            if not values:
                continue
            where = f"{network} / {label}" + (f" / {threads} threads" if threads is not None else "")
            extra = [f"seeds: {', '.join(str(job.seed) for job in jobs)}",
                     f"{'rounds' if measure.timing else 'values'}: {len(values)}",
                     f"batch size: {jobs[0].batch_size}"]
            if environment is not None:
                extra += [f"{environment.framework} {environment.framework_version or ''}".rstrip(),
                          f"device: {environment.device}, threads: {environment.threads}",
                          f"harness commit: {environment.git_commit or 'unknown'}"]
            flags = sorted({flag for job in jobs for flag in job.noise_flags}) if measure.timing else []
            extra += [f"noise: {flag}" for flag in flags]
            entry: dict[str, Any] = {"name": f"{where} / {title}", "unit": unit, "value": statistics.median(values)}
            spread = _range(measure, values)
            if spread is not None:
                entry["range"] = spread
            entry["extra"] = "\n".join(extra)
            entries.append(entry)
    return entries
