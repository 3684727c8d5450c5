"""Running the jobs of ``harness run`` one at a time, and keeping every result.

Each job runs in its own worker subprocess (same thread count and device for all, so timings are
fair). Its result is written atomically to ``<out>/jobs/<file>`` the moment it ends, and
``<out>/results.json`` is rewritten after every job, so a crash, a timeout or Ctrl-C loses
nothing that had finished. A job that fails, times out, runs out of memory or diverges is
recorded with its reason (and the epochs it finished, from its progress events), and the next
job runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError

from harness.oracle import analyse, as_json, check_expect
from harness.results import Epoch, JobResult, RunResults, read_json, write_model, write_run
from harness.runner import measure
from harness.runner.child import ChildOutcome, LocalExecutor
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
        result = JobResult.model_validate(read_json(path))
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


def network_objects(networks: list[Network]) -> dict[str, dict[str, Any]]:
    """The oracle's ``harness check --json`` object of every network, by network key."""
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
    if outcome.result is not None:
        measured = outcome.result.model_dump(mode="json", exclude_none=True)
        return JobResult.model_validate({**result.model_dump(), **measured})
    result.reason = outcome.error or "the worker failed without saying why"
    result.history = _history_from_events(events)
    result.log_tail = (outcome.traceback or outcome.output_tail)[-LOG_TAIL_CHARS:] or None
    return result


@dataclass
class Orchestrator:
    """Runs ``jobs`` in order, writing each result to ``out`` as it ends."""

    jobs: list[Job]
    out: Path
    results: RunResults
    progress: Progress
    executor: LocalExecutor
    versions: dict[str, str | None] = field(default_factory=dict)
    timeout: float | None = None
    resume: bool = False
    finished: list[JobResult] = field(default_factory=list)

    def base(self, job: Job, status: str, started_at: str, reason: str) -> JobResult:
        result = base_result(job, status, started_at, self.versions.get(job.config.framework))
        result.reason = reason
        return result

    def execute(self) -> RunResults:
        """Run every job; on KeyboardInterrupt the running job is kept as ``interrupted``, the
        rest as ``skipped``, results.json is written, and the interrupt is re-raised."""
        self.results.started_at = self.results.started_at or measure.now()
        for index, job in enumerate(self.jobs):
            stored = stored_result(job, self.out) if self.resume else None
            if stored is not None:
                self.finish(job, stored, reused=True)
                continue
            try:
                self.finish(job, self.run_job(job), reused=False)
            except KeyboardInterrupt:
                for rest in self.jobs[index + 1:]:
                    self.finished.append(self.base(rest, "skipped", measure.now(), "not run: the run was interrupted (Ctrl-C)"))
                self.save()
                raise
        self.save()
        return self.results

    def run_job(self, job: Job) -> JobResult:
        self.progress.job_started(job)
        events: list[dict[str, Any]] = []
        started_at = measure.now()

        def on_event(event: dict[str, Any]) -> None:
            if event.get("event") == "epoch":
                events.append(event)
            self.progress.job_event(job, event)

        try:
            outcome = self.executor.run(job.request(), timeout=self.timeout, on_event=on_event)
        except KeyboardInterrupt:
            interrupted = self.base(job, "interrupted", started_at, "interrupted by the user (Ctrl-C); the epochs it finished are kept")
            interrupted.history = _history_from_events(events)
            self.finish(job, interrupted, reused=False)
            raise
        return job_result(job, outcome, events, started_at, self.versions.get(job.config.framework))

    def finish(self, job: Job, result: JobResult, reused: bool) -> None:
        """Record ``result``: its own file first, then the run's results.json."""
        if not reused:
            write_model(job.result_path(self.out), result)
        self.finished.append(result)
        self.save()
        self.progress.job_finished(job, result, reused)

    def save(self) -> None:
        """Rewrite ``<out>/results.json`` with every job recorded so far."""
        self.results.jobs = list(self.finished)
        self.results.framework_params = framework_params(self.finished)
        self.results.finished_at = measure.now()
        write_run(self.out / RESULTS_FILE, self.results)


def framework_params(jobs: list[JobResult]) -> dict[str, dict[str, Any]]:
    """Network key -> framework -> parameter counts (total and per layer) and effective settings,
    from the first job of each pair that built its model."""
    table: dict[str, dict[str, Any]] = {}
    for job in jobs:
        if job.params is None or job.framework in table.get(job.network, {}):
            continue
        table.setdefault(job.network, {})[job.framework] = {
            "params": job.params.model_dump(),
            "layers": job.layer_params,
            "effective_settings": job.effective_settings,
        }
    return table
