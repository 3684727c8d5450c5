"""A run's jobs in other tools' formats: pytest-benchmark's JSON storage format.

One benchmark per job (its network as the group, ``framework-seedK`` as the parameter), with the
job's rounds (see :mod:`harness.runner.measure`) as ``data`` in seconds and the statistics
pytest-benchmark itself computes from them (:class:`pytest_benchmark.stats.Stats`), so that
``pytest-benchmark compare FILE`` lists the jobs and github-action-benchmark (tool ``pytest``)
can track them.
"""

from __future__ import annotations

from typing import Any

from pytest_benchmark import __version__ as PYTEST_BENCHMARK_VERSION
from pytest_benchmark.stats import Stats

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
