"""Thread scaling: each framework's median step time at each thread count of a run (``--threads 1,2``)."""

from __future__ import annotations

import statistics

import pandas as pd

from harness.report import format as fmt
from harness.report.document import Section, Table, Text
from harness.report.model import RunView
from harness.results import JobResult


def job_threads(job: JobResult) -> int | None:
    """The thread count a job ran with (its config, else its environment)."""
    threads = job.config.get("threads")
    if threads is None and job.environment is not None:
        threads = job.environment.threads
    return int(threads) if threads is not None else None


def thread_counts(view: RunView) -> list[int]:
    return sorted({count for job in view.jobs if (count := job_threads(job)) is not None})


def step_medians(view: RunView) -> dict[tuple[str, str, int], float]:
    """(network, framework, threads) -> median over the ok jobs (seeds) of their median step time, in ms."""
    samples: dict[tuple[str, str, int], list[float]] = {}
    for job in view.jobs:
        threads = job_threads(job)
        if job.status == "ok" and job.step_time is not None and threads is not None:
            samples.setdefault((job.network, job.framework, threads), []).append(job.step_time.median_ms)
    return {key: statistics.median(values) for key, values in samples.items()}


def thread_scaling_table(view: RunView) -> Table | None:
    """Network x framework rows; per thread count, the median step time and the speed-up over the
    fewest threads (1 when the run has it). None when the run has one thread count."""
    counts = thread_counts(view)
    if len(counts) < 2:
        return None
    medians = step_medians(view)
    columns = ["network", "framework", *(f"{n} thread{'s' if n > 1 else ''}" for n in counts)]
    rows, keys = [], []
    for network in view.networks:
        for framework in view.frameworks:
            times = [medians.get((network, framework, n)) for n in counts]
            if all(value is None for value in times):
                continue
            cells = [network, framework]
            for value in times:
                if value is None:
                    cells.append(fmt.MISSING)
                    continue
                reference = times[0]
                speedup = f" ({fmt.ratio(reference / value)})" if reference is not None and value > 0 else ""
                cells.append(f"{fmt.significant(value)} ms{speedup}")
            rows.append(cells)
            keys.append([float("nan"), float("nan"), *(float("nan") if value is None else value for value in times)])
    if not rows:
        return None
    return Table(pd.DataFrame(rows, columns=columns, dtype=object), ("left", "left", *("right",) * len(counts)),
                 sort_keys=pd.DataFrame(keys, columns=columns, dtype=float), id="thread-scaling")


def thread_scaling_section(view: RunView) -> Section | None:
    """The report's "Thread scaling" section, or None when the run has one thread count."""
    table = thread_scaling_table(view)
    if table is None:
        return None
    base = thread_counts(view)[0]
    return Section("Thread scaling", "threads", (
        Text("Every job ran at each thread count of the run (`--threads`), each in its own process. Each cell is the "
             f"median step time (median over seeds) and, in brackets, the speed-up over {base} "
             f"thread{'s' if base > 1 else ''} (higher is better)."), table))
