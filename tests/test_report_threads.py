"""The report's thread-scaling section: present only when a run has several thread counts."""

from __future__ import annotations

from pathlib import Path

from report_support import sample_run, write_run

from harness.report import write_report
from harness.report.model import RunView
from harness.report.threads import thread_scaling_table
from harness.results import RunResults, Timing


def with_threads(run: RunResults, steps: dict[int, float]) -> RunResults:
    """The run's jobs repeated at each thread count, each with the given median step time."""
    jobs = []
    for threads, median in steps.items():
        for job in run.jobs:
            copy = job.model_copy(deep=True)
            copy.config = {**copy.config, "threads": threads}
            copy.environment.threads = threads
            if copy.step_time is not None:
                value = median * (2 if copy.framework == "paddle" else 1)
                copy.step_time = Timing(median_ms=value, p10_ms=0.9 * value, p90_ms=1.1 * value, count=10)
            jobs.append(copy)
    return run.model_copy(update={"jobs": jobs})


def test_one_thread_count_has_no_scaling_table() -> None:
    assert thread_scaling_table(RunView(sample_run(epochs=2, samples=20))) is None


def test_scaling_table_gives_step_times_and_speed_ups() -> None:
    view = RunView(with_threads(sample_run(epochs=2, samples=20), {1: 10.0, 2: 4.0}))
    table = thread_scaling_table(view)
    assert table is not None
    frame = table.frame
    assert list(frame.columns) == ["network", "framework", "1 thread", "2 threads"]
    keras = frame[(frame.network == "lenet") & (frame.framework == "keras")].iloc[0]
    assert keras["1 thread"] == "10.0 ms (1.00x)" and keras["2 threads"] == "4.00 ms (2.50x)"
    paddle = frame[(frame.network == "lenet") & (frame.framework == "paddle")].iloc[0]
    assert paddle["2 threads"] == "8.00 ms (2.50x)"
    assert view.label(view.jobs[0]).endswith("1 threads")


def test_report_shows_the_section(tmp_path: Path) -> None:
    results = write_run(with_threads(sample_run(epochs=2, samples=20), {1: 9.0, 2: 5.0}), tmp_path)
    write_report(results)
    markdown = (tmp_path / "report.md").read_text()
    assert "Thread scaling" in markdown and "1.80x" in markdown and "speed-up over 1 thread" in markdown
