"""The report's "Results" section: every measurement, job by job, and eager against compiled mode."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from harness.report import format as fmt
from harness.report.compiled import COMPILED_TEXT, compile_options, compiled_table
from harness.report.document import Block, Bullets, Details, Heading, Mark, Section, Split, Table, Text
from harness.report.model import RunView, status_text, texts
from harness.results import JobResult, Timing


STATUS_MARKS: dict[str, Mark] = {"ok": "pass", "diverged": "warn", "skipped": "warn"}


Better = Literal["higher", "lower"]


@dataclass(frozen=True)
class Metric:
    """One row of the results table: how to read it from a job and how to write it.

    ``timing`` gives the row's repeated timings when it has them: only such a row can mark a best
    value, and only one whose whole p10-p90 range lies beyond every other job's (beyond the noise).
    """

    id: str
    label: str
    better: Better | None
    value: Callable[[JobResult], float | None]
    rounded: Callable[[float | None], str]
    text: Callable[[JobResult], str] | None = None
    timing: Callable[[JobResult], Timing | None] | None = None

    def cell(self, job: JobResult) -> str:
        return self.text(job) if self.text is not None else self.rounded(self.value(job))


def _median(timing: Timing | None) -> float | None:
    return None if timing is None else timing.median_ms


def _spread(timing: Timing | None) -> str:
    if timing is None:
        return fmt.MISSING
    return f"{fmt.significant(timing.median_ms)} [{fmt.significant(timing.p10_ms)}–{fmt.significant(timing.p90_ms)}]"


def _last(job: JobResult, field: str) -> float | None:
    return getattr(job.history[-1], field) if job.history else None


def _best_epoch(job: JobResult) -> str:
    best = job.best_test_accuracy
    if best is None:
        return fmt.MISSING
    epoch = next(e.epoch for e in job.history if e.test_accuracy == best)
    return f"{fmt.accuracy(best)} (epoch {epoch})"


def _train_seconds(job: JobResult) -> float | None:
    return sum(epoch.seconds for epoch in job.history) if job.history else None


METRICS: tuple[Metric, ...] = (
    Metric("status", "status", None, lambda j: None, fmt.plain, status_text),
    Metric("epochs", "epochs run", None, lambda j: float(len(j.history)), fmt.plain,
           lambda j: f"{len(j.history)} / {j.epochs_requested}"),
    Metric("final-test-accuracy", "final test accuracy", "higher", lambda j: j.final_test_accuracy, fmt.accuracy),
    Metric("best-test-accuracy", "best test accuracy", "higher", lambda j: j.best_test_accuracy, fmt.accuracy,
           _best_epoch),
    Metric("final-test-loss", "final test loss", "lower", lambda j: _last(j, "test_loss"), fmt.significant),
    Metric("final-train-loss", "final train loss", "lower", lambda j: _last(j, "train_loss"), fmt.significant),
    Metric("step-time", "step time, ms: median [p10–p90]", "lower", lambda j: _median(j.step_time), fmt.significant,
           lambda j: _spread(j.step_time), lambda j: j.step_time),
    Metric("images-per-second", "training images/s (from the mean step time)", "higher", lambda j: j.images_per_second,
           fmt.significant),
    Metric("latency-1", "inference latency, batch 1, ms", "lower", lambda j: _median(j.latency_batch_1),
           fmt.significant, lambda j: _spread(j.latency_batch_1), lambda j: j.latency_batch_1),
    Metric("latency-batch", "inference latency, training batch, ms", "lower", lambda j: _median(j.latency_batch),
           fmt.significant, lambda j: _spread(j.latency_batch), lambda j: j.latency_batch),
    Metric("peak-memory", "peak memory (RSS), MiB", "lower", lambda j: j.peak_rss_mb, fmt.significant),
    Metric("gflops", "achieved GFLOP/s (share of the machine's FP32 GEMM rate)", "higher", lambda j: j.gflops,
           fmt.significant, lambda j: _gflops_text(j)),
    Metric("noise", "timing noise (other processes' CPU share)", None,
           lambda j: j.noise.other_cpu_share if j.noise else None, fmt.plain, lambda j: _noise_text(j)),
    Metric("build", "time to build, s", "lower", lambda j: j.build_seconds, fmt.significant),
    Metric("first-step", "time to first step, s", "lower", lambda j: j.first_step_seconds, fmt.significant),
    Metric("train-time", "training time, s", "lower", _train_seconds, fmt.significant),
)


def _gflops_text(job: JobResult) -> str:
    if job.gflops is None:
        return fmt.MISSING
    if not job.gemm_gflops:
        return fmt.significant(job.gflops)
    return f"{fmt.significant(job.gflops)} ({job.gflops / job.gemm_gflops:.0%} of {fmt.significant(job.gemm_gflops)})"


def _noise_text(job: JobResult) -> str:
    if job.noise is None:
        return "not recorded"
    share = f"{job.noise.other_cpu_share:.0%}"
    if not job.noise.flags:
        return f"quiet ({share})"
    kinds = " and ".join(dict.fromkeys(flag.split(":")[0] for flag in job.noise.flags))
    return f"⚠ {kinds} ({share})"


def results_table(view: RunView) -> Table:
    """One column per job, one row per metric; a timing clearly better than every other ``ok`` job's marked."""
    jobs = view.jobs
    columns = ["", *(view.label(job) for job in jobs)]
    rows, marks, keys = [], [], []
    for metric in METRICS:
        values = [metric.value(job) for job in jobs]
        best = _best_cells(metric, jobs, values)
        rows.append([metric.label, *(metric.cell(job) for job in jobs)])
        if metric.id == "status":
            marks.append(["", *(STATUS_MARKS.get(job.status, "fail") for job in jobs)])
        elif metric.id == "noise":
            marks.append(["", *("warn" if job.noise_flags else "" for job in jobs)])
        else:
            marks.append(["", *("best" if flag else "" for flag in best)])
        keys.append([math.nan, *(math.nan if v is None or not math.isfinite(v) else v for v in values)])
    return Table(
        texts(rows, columns), ("left", *("right",) * len(jobs)),
        marks=pd.DataFrame(marks, columns=columns, dtype=object),
        sort_keys=pd.DataFrame(keys, columns=columns, dtype=float),
        sort="columns", row_ids=tuple(m.id for m in METRICS), row_better=tuple(m.better or "" for m in METRICS),
        id="results", title="Every measurement, job by job",
    )


def _best_cells(metric: Metric, jobs: list[JobResult], values: list[float | None]) -> list[bool]:
    """True for the one ``ok`` job whose p10-p90 range is better than every other ``ok`` job's whole
    range; all False for rows without timings (one value per job says nothing about its noise) and
    when any of the jobs was timed on a busy machine or has unstable rounds."""
    if metric.timing is None or metric.better is None or any(job.noise_flags for job in jobs if job.status == "ok"):
        return [False] * len(jobs)
    timings = [metric.timing(job) if job.status == "ok" else None for job in jobs]
    present = [i for i, timing in enumerate(timings) if timing is not None]
    if len(present) < 2:
        return [False] * len(jobs)
    lower = metric.better == "lower"
    best = min(present, key=lambda i: timings[i].median_ms) if lower else max(present, key=lambda i: timings[i].median_ms)
    clear = all((timings[best].p90_ms < timings[i].p10_ms) if lower else (timings[best].p10_ms > timings[i].p90_ms)
                for i in present if i != best)
    return [clear and i == best for i in range(len(jobs))]


MARKDOWN_JOB_COLUMNS = 18
"""The most jobs whose one-column-per-job table report.md shows; beyond, it is in report.html only."""


def results_section(view: RunView) -> Section:
    """Every measurement job by job (folded), then eager against compiled mode when the run has both."""
    if not view.jobs:
        return Section("Results", "results", (Text("No training jobs are recorded in this run."),))
    every: Block = Details("Every measurement, job by job", (results_table(view),))
    if len(view.jobs) > MARKDOWN_JOB_COLUMNS:
        every = Split((Text(f"Every measurement of the {len(view.jobs)} jobs, job by job, is in report.html (a table of "
                            f"more than {MARKDOWN_JOB_COLUMNS} columns); the Summary gives them per network and "
                            "framework, and results.json every figure."),), (every,))
    compiled = compiled_table(view)
    if compiled is None:
        return Section("Results", "results", (every,))
    return Section("Results", "results", (every, Heading("Eager and compiled"), Text(COMPILED_TEXT),
                                          compiled, Bullets(tuple(compile_options(view)))))
