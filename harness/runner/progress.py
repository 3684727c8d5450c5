"""What ``harness run`` shows while it works: a live view, a line per epoch, or a line per job.

On a terminal, the live view has one line per job (framework, network, seed, epoch, a step
progress bar over the whole job, the current loss, the ETA). Into a log or a pipe, a line per
job started and per epoch finished (loss, accuracy, time, ETA) and per job ended; with
``--quiet`` (CI), a line per job ended only. The summary table printed at the end is shared.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.measure import Measurement
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from harness.results import JobResult, Timing
from harness.runner.jobs import Job

STATUS_STYLES = {"ok": "green", "diverged": "yellow", "skipped": "dim", "interrupted": "yellow"}
PHASES = {"data": "loading data", "build": "building", "latency": "timing inference"}


def status_text(result: JobResult) -> str:
    """The status with its colour, as rich markup."""
    return f"[{STATUS_STYLES.get(result.status, 'red')}]{result.status}[/]"


def step_time_text(timing: Timing | None) -> str:
    """``6.21 ms [6.02-6.90]``: the median with the 10th and 90th percentiles."""
    if timing is None:
        return "-"
    return f"{timing.median_ms:.3g} ms [{timing.p10_ms:.3g}-{timing.p90_ms:.3g}]"


def job_line(result: JobResult) -> str:
    """One line that says how a job ended."""
    what = f"{result.network} / {result.label} / seed {result.seed}"
    if result.status not in ("ok", "diverged"):
        return f"{result.status:<11} {what}: {result.reason}"
    accuracy = result.final_test_accuracy
    parts = [f"test accuracy {accuracy:.4f}" if accuracy is not None else "no test accuracy",
             f"step {step_time_text(result.step_time)}"]
    if result.images_per_second:
        parts.append(f"{result.images_per_second:,.0f} images/s")
    line = f"{result.status:<11} {what}: " + ", ".join(parts)
    return line + (f" ({result.reason})" if result.reason else "")


def summary_table(results: list[JobResult]) -> Table:
    """Every job side by side: status, accuracy, step time, throughput."""
    table = Table(title="harness run", title_justify="left")
    for name, justify in (("network", "left"), ("framework", "left"), ("seed", "right"), ("status", "left"),
                          ("test acc (final)", "right"), ("test acc (best)", "right"),
                          ("step time median \\[p10-p90]", "right"), ("images/s", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for result in results:
        final, best = result.final_test_accuracy, result.best_test_accuracy
        table.add_row(
            result.network, result.label, str(result.seed), status_text(result),
            f"{final:.4f}" if final is not None else "-", f"{best:.4f}" if best is not None else "-",
            step_time_text(result.step_time),
            f"{result.images_per_second:,.0f}" if result.images_per_second else "-",
        )
    return table


def print_table(console: Console, table: Table) -> None:
    """Print ``table``; outside a terminal (a log, a pipe) at its natural width, not cut to 80 columns."""
    if console.is_terminal:
        console.print(table)
        return
    width = Measurement.get(console, console.options.update(max_width=10_000), table).maximum
    Console(file=console.file, width=width, no_color=console.no_color, color_system=None).print(table)


class QuietView:
    """One plain line per finished job, for CI logs."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def __enter__(self) -> QuietView:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def job_started(self, job: Job) -> None:
        return None

    def job_event(self, job: Job, event: dict[str, Any]) -> None:
        return None

    def job_finished(self, job: Job, result: JobResult, reused: bool) -> None:
        prefix = "(kept from an earlier run) " if reused else ""
        self.console.print(prefix + job_line(result), markup=False, highlight=False, soft_wrap=True)


def duration_text(seconds: float) -> str:
    """``42.1 s``, ``3m 05s`` or ``1h 02m``."""
    if round(seconds, 1) < 60:
        return f"{seconds:.1f} s"
    whole = int(round(seconds))
    if whole < 3600:
        return f"{whole // 60}m {whole % 60:02d}s"
    return f"{whole // 3600}h {whole % 3600 // 60:02d}m"


def epoch_line(job: Job, event: dict[str, Any], eta: float | None = None) -> str:
    """One finished epoch: loss, accuracies, time and the ETA of the job's training.

    ``epoch 2/10  lenet / torch / seed 0: loss 0.0712, train acc 0.9781, test acc 0.9812,
    8.4 s (+0.6 s scoring), ETA 1m 12s`` (``eta``: :func:`training_eta`; none after the last epoch).
    """
    epoch, epochs = int(event["epoch"]), int(event.get("epochs") or job.config.epochs)
    parts = [f"loss {event['train_loss']:.4g}", f"train acc {event['train_accuracy']:.4f}"]
    if event.get("test_accuracy") is not None:
        parts.append(f"test acc {event['test_accuracy']:.4f}")
    scoring = f" (+{event['eval_seconds']:.1f} s scoring)" if event.get("eval_seconds") is not None else ""
    parts.append(duration_text(float(event["seconds"])) + scoring)
    if eta is not None and epoch < epochs:
        parts.append(f"ETA {duration_text(eta)}")
    return f"epoch {epoch}/{epochs}  {job.key}: " + ", ".join(parts)


def steady_epoch_seconds(event: dict[str, Any]) -> float:
    """An epoch's training time as a later epoch will take it: without the extra time of the first
    step at each new batch shape (the compilation, or eager warm-up), which only the first epoch pays."""
    seconds, steps = float(event["seconds"]), int(event.get("steps") or 0)
    first, first_seconds = int(event.get("first_steps") or 0), float(event.get("first_steps_seconds") or 0.0)
    if first == 0 or steps <= first:
        return seconds
    return (seconds - first_seconds) * steps / (steps - first)


def training_eta(epochs: list[dict[str, Any]], total: int, since_last: float = 0.0) -> float | None:
    """Seconds until the job's training ends, from the events of its finished epochs and the
    seconds since the last one ended; None before the first epoch has ended.

    Each epoch left costs the median of the finished ones' steady training time
    (:func:`steady_epoch_seconds`) plus the median of their scoring time.
    """
    if not epochs:
        return None
    train = statistics.median(steady_epoch_seconds(event) for event in epochs)
    scoring = statistics.median(float(event.get("eval_seconds") or 0.0) for event in epochs)
    return max(0.0, (train + scoring) * (total - int(epochs[-1]["epoch"])) - since_last)


class EtaColumn(ProgressColumn):
    """The job's time to the end of its training: from its finished epochs once one has ended
    (:func:`training_eta`), rich's estimate from the step rate before that."""

    def __init__(self, clock: Callable[[], float]) -> None:
        super().__init__()
        self.clock = clock
        self.fallback = TimeRemainingColumn()

    def render(self, task: Task) -> Text:
        epochs, ended_at = task.fields.get("epochs_done"), task.fields.get("epoch_ended_at")
        if not epochs or ended_at is None or task.finished:
            return self.fallback.render(task)
        eta = training_eta(epochs, int(task.fields["epochs_total"]), self.clock() - ended_at)
        return Text(f"ETA {duration_text(eta or 0.0)}", style="progress.remaining")


class LogView(QuietView):
    """Plain lines for a log or a pipe: each job started, each epoch finished, each job ended."""

    def __init__(self, console: Console) -> None:
        super().__init__(console)
        self.epochs: dict[str, list[dict[str, Any]]] = {}

    def job_started(self, job: Job) -> None:
        self.console.print(f"started     {job.key}", markup=False, highlight=False, soft_wrap=True)

    def job_event(self, job: Job, event: dict[str, Any]) -> None:
        if event.get("event") != "epoch":
            return
        eta = None
        if event.get("elapsed") is not None:  # a finished epoch (a diverged one ends the job)
            self.epochs.setdefault(job.key, []).append(event)
            eta = training_eta(self.epochs[job.key], int(event.get("epochs") or job.config.epochs))
        self.console.print(epoch_line(job, event, eta), markup=False, highlight=False, soft_wrap=True)


class LiveView:
    """A rich live view: one progress line per job, updated from the worker's events."""

    def __init__(self, console: Console, jobs: list[Job], clock: Callable[[], float] = time.monotonic) -> None:
        self.console = console
        self.clock = clock
        self.progress = Progress(
            TextColumn("{task.description}"),
            TextColumn("{task.fields[state]}", style="cyan"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}"),
            EtaColumn(clock),
            console=console,
        )
        self.epochs: dict[str, list[dict[str, Any]]] = {job.key: [] for job in jobs}
        self.tasks: dict[str, TaskID] = {
            job.key: self.progress.add_task(job.key, total=None, start=False, state="waiting", loss="-",
                                            epochs_done=self.epochs[job.key], epochs_total=job.config.epochs,
                                            epoch_ended_at=None) for job in jobs
        }
        self.steps: dict[str, int] = {}
        self.live = Live(self.progress, console=console, refresh_per_second=4, transient=False)

    def __enter__(self) -> LiveView:
        self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.__exit__(None, None, None)

    def job_started(self, job: Job) -> None:
        task = self.tasks[job.key]
        self.progress.start_task(task)
        self.progress.update(task, state="starting")

    def job_event(self, job: Job, event: dict[str, Any]) -> None:
        task = self.tasks[job.key]
        kind = event.get("event")
        if kind == "phase":
            self.progress.update(task, state=PHASES.get(event["phase"], event["phase"]))
        elif kind == "start":
            self.steps[job.key] = int(event["steps"])
            self.progress.update(task, total=int(event["epochs"]) * int(event["steps"]), completed=0,
                                 state=f"epoch 1/{event['epochs']}")
        elif kind == "step":
            done = (int(event["epoch"]) - 1) * self.steps.get(job.key, int(event["steps"])) + int(event["step"])
            self.progress.update(task, completed=done, loss=f"{event['loss']:.4g}",
                                 state=f"epoch {event['epoch']}/{job.config.epochs}")
        elif kind == "epoch":
            done = int(event["epoch"]) * self.steps.get(job.key, 0)
            accuracy = event.get("test_accuracy")
            state = f"epoch {event['epoch']}/{job.config.epochs}" + (f" acc {accuracy:.3f}" if accuracy is not None else "")
            if event.get("elapsed") is not None:  # a finished epoch (a diverged one ends the job)
                self.epochs[job.key].append(event)
            self.progress.update(task, completed=done, loss=f"{event['train_loss']:.4g}", state=state,
                                 epoch_ended_at=self.clock())

    def job_finished(self, job: Job, result: JobResult, reused: bool) -> None:
        task = self.tasks[job.key]
        state = status_text(result) + (" (kept)" if reused else "")
        total = self.progress.tasks[task].total
        self.progress.update(task, state=state, completed=total if result.status == "ok" else None)
        self.progress.stop_task(task)
        if result.status not in ("ok", "diverged") or result.reason:
            self.console.print(job_line(result), markup=False, highlight=False, soft_wrap=True)
