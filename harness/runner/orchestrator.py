"""Running the jobs of ``harness run`` through an executor, and keeping every result.

Each job runs in its own worker subprocess (same thread count and device for all, so timings are
fair), on this machine (:class:`~harness.runner.child.LocalExecutor`, one job at a time) or on a
Ray cluster (:mod:`harness.runner.ray_executor`). Its result is written atomically to
``<out>/jobs/<file>`` the moment it ends, and ``<out>/results.json`` is rewritten after every
job, so a crash, a timeout or Ctrl-C loses nothing that had finished. A job that fails, times
out, runs out of memory or diverges is recorded with its reason (and the epochs it finished, from
its progress events), and the other jobs carry on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError

from harness.neutral.oracle import analyse, as_json, check_expect
from harness.results import Epoch, JobResult, NetworkCheck, Node, RunResults, framework_params, read_job, write_job, write_run
from harness.runner import measure
from harness.runner.executor import ChildOutcome, Executor
from harness.runner.jobs import RESULTS_FILE, Job
from harness.runner.protocol import TrainConfig
from harness.spec import Network

REUSABLE = ("ok", "diverged")
"""Statuses of stored results that ``--resume`` keeps: the job ran to its end."""
LOG_TAIL_CHARS = 4000


class Progress(Protocol):
    """What the orchestrator tells a progress view."""

    def job_started(self, job: Job) -> None: ...
    def job_event(self, job: Job, event: dict[str, Any]) -> None: ...
    def job_finished(self, job: Job, result: JobResult, reused: bool) -> None: ...


def stored_result(job: Job, out: Path) -> JobResult | None:
    """The result of ``job`` on disk when it finished (ok or diverged) with the same settings."""
    path = job.result_path(out)
    if not path.exists():
        return None
    try:
        result = read_job(path)
    except (ValueError, ValidationError, OSError):
        return None
    if result.status not in REUSABLE or stored_config(result, job) != job.config.comparable():
        return None
    return result


def stored_config(result: JobResult, job: Job) -> dict[str, Any] | None:
    """The settings a stored result ran with, completed with the defaults of settings added since
    (a result from before ``mode`` existed ran in eager mode); None when they no longer validate."""
    try:
        config = TrainConfig.model_validate({**result.config, "spec": job.config.spec, "data_dir": job.config.data_dir})
    except ValidationError:
        return None
    return config.comparable()


def network_objects(networks: list[Network]) -> dict[str, NetworkCheck]:
    """The oracle's check (``harness check --json``) of every network, by network key."""
    objects = {}
    for network in networks:
        analysis = analyse(network)
        objects[network.key] = as_json(network, analysis, check_expect(analysis, network.spec.expect))
    return objects


def _history_from_events(events: list[dict[str, Any]]) -> list[Epoch]:
    return [Epoch.model_validate(event) for event in events if event.get("event") == "epoch"]


def base_result(job: Job, status: str, started_at: str, version: str | None) -> JobResult:
    """What the parent knows of ``job`` without its worker (``version``: the framework's)."""
    config = job.config
    return JobResult(
        network=job.network.key, spec_file=job.network.path, framework=config.framework, mode=config.mode, seed=config.seed,
        status=status, epochs_requested=config.epochs, spec_epochs=job.network.spec.train.epochs, batch_size=config.batch_size,
        config=config.comparable(), started_at=started_at, finished_at=measure.now(),
        environment=measure.environment(config.framework, version, config.device, config.threads),
    )


def job_result(job: Job, outcome: ChildOutcome, events: list[dict[str, Any]], started_at: str, version: str | None) -> JobResult:
    """The :class:`JobResult` of a finished worker, whatever its outcome."""
    result = base_result(job, outcome.status, started_at, version)
    result.node = outcome.node
    if outcome.result is not None:
        return result.measured_by(outcome.result)
    result.reason = outcome.error or "the worker failed without saying why"
    result.history = _history_from_events(events)
    result.log_tail = (outcome.traceback or outcome.output_tail)[-LOG_TAIL_CHARS:] or None
    return result


@dataclass
class Running:
    """A job its executor has started: when, and the epochs it reported so far."""

    started_at: str
    node: Node | None = None
    events: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Orchestrator:
    """Runs ``jobs`` through ``executor``, writing each result to ``out`` the moment it ends.

    The local executor runs one job at a time; the Ray executor may run several at once and end
    them in any order. results.json always lists the jobs in their planned order.
    """

    jobs: list[Job]
    out: Path
    results: RunResults
    progress: Progress
    executor: Executor
    versions: dict[str, str | None] = field(default_factory=dict)
    timeout: float | None = None
    resume: bool = False
    finished: dict[int, JobResult] = field(default_factory=dict)
    todo: list[int] = field(default_factory=list)
    running: dict[int, Running] = field(default_factory=dict)

    def base(self, job: Job, status: str, started_at: str, reason: str) -> JobResult:
        result = base_result(job, status, started_at, self.versions.get(job.config.framework))
        result.reason = reason
        return result

    def execute(self) -> RunResults:
        """Run every job; on KeyboardInterrupt the running jobs are kept as ``interrupted``, the
        rest as ``skipped``, results.json is written, and the interrupt is re-raised."""
        self.results.started_at = self.results.started_at or measure.now()
        for index, job in enumerate(self.jobs):
            stored = stored_result(job, self.out) if self.resume else None
            if stored is not None:
                self.finish(index, stored, reused=True)
            else:
                self.todo.append(index)
        try:
            self.executor.run_jobs([self.jobs[index].request() for index in self.todo], self, timeout=self.timeout)
        except KeyboardInterrupt:
            self.interrupted()
            raise
        self.save()
        return self.results

    def interrupted(self) -> None:
        """Keep the running jobs (with their epochs) as interrupted, the others as skipped."""
        for index, running in list(self.running.items()):
            result = self.base(self.jobs[index], "interrupted", running.started_at,
                               "interrupted by the user (Ctrl-C); the epochs it finished are kept")
            result.history, result.node = _history_from_events(running.events), running.node
            self.finish(index, result, reused=False)
        for index in self.todo:
            if index not in self.finished:
                self.finished[index] = self.base(self.jobs[index], "skipped", measure.now(), "not run: the run was interrupted (Ctrl-C)")
        self.save()

    def job_started(self, position: int, node: Node) -> None:
        index = self.todo[position]
        self.running[index] = Running(measure.now(), node)
        self.progress.job_started(self.jobs[index])

    def job_event(self, position: int, event: dict[str, Any]) -> None:
        index = self.todo[position]
        if event.get("event") == "epoch" and index in self.running:
            self.running[index].events.append(event)
        self.progress.job_event(self.jobs[index], event)

    def job_ended(self, position: int, outcome: ChildOutcome) -> None:
        index = self.todo[position]
        running = self.running.get(index) or Running(measure.now())
        job = self.jobs[index]
        result = job_result(job, outcome, running.events, running.started_at, self.versions.get(job.config.framework))
        result.timing_grade = self.executor.concurrency == 1 and (outcome.node is None or outcome.node.concurrent_jobs == 0)
        self.finish(index, result, reused=False)

    def finish(self, index: int, result: JobResult, reused: bool) -> None:
        """Record ``result``: its own file first, then the run's results.json."""
        job = self.jobs[index]
        if not reused:
            write_job(job.result_path(self.out), result)
        self.running.pop(index, None)
        self.finished[index] = result
        self.save()
        self.progress.job_finished(job, result, reused)

    def save(self) -> None:
        """Rewrite ``<out>/results.json`` with every job recorded so far, in the planned order."""
        self.results.jobs = [self.finished[index] for index in sorted(self.finished)]
        self.results.framework_params = framework_params(self.results.jobs)
        self.results.finished_at = measure.now()
        write_run(self.out / RESULTS_FILE, self.results)
