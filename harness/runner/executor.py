"""What every command asks of an executor (local or Ray), and what an executor tells it back.

All work a command hands to workers goes through one :class:`Executor`: training jobs, parameter
counts, parity and training-parity checks, framework probes. The caller gives it typed requests
(:mod:`harness.runner.protocol`) and a :class:`JobSink`; the executor runs them where it runs
things (this machine, a Ray cluster) and reports each one's end the moment it comes.
:func:`run_all` is the short form for a caller that only wants the outcomes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from harness.results import Node
from harness.runner.protocol import InfoRequest, ParamsRequest, ParityRequest, TrainParityRequest, TrainRequest

WorkRequest = InfoRequest | ParamsRequest | ParityRequest | TrainRequest | TrainParityRequest
"""Any request a worker answers."""


class ExecutorUnavailable(RuntimeError):
    """An executor cannot run here (not installed, cluster unreachable, jobs no node can run); says how to fix it."""


@dataclass
class ChildOutcome:
    """How a worker ended: its result (if it wrote one), or why there is none."""

    status: str
    result: Any = None
    error: str | None = None
    traceback: str | None = None
    returncode: int | None = None
    output_tail: str = ""
    node: Node | None = None

    def reason(self, tail_chars: int = 400) -> str:
        """Why there is no result, in one line: the status and the error (or the output's end)."""
        return f"{self.status}: {self.error or self.output_tail.strip()[-tail_chars:]}"


class JobSink(Protocol):
    """Receives what happens to the jobs an executor runs, by their position in its list.

    Calls may come from several threads at once (a local executor runs warm workers side by side).
    """

    def job_started(self, position: int, node: Node) -> None: ...
    def job_event(self, position: int, event: dict[str, Any]) -> None: ...
    def job_ended(self, position: int, outcome: ChildOutcome) -> None: ...


class Executor(Protocol):
    """Runs requests in workers and reports each one's end the moment it comes.

    A request whose type is ``isolated`` (a timed training job) gets a fresh worker of its own;
    other work (counting, parity, probes) may share a warm worker with the requests of the same
    framework, device and thread count. ``concurrency`` above 1 means the executor packs several
    jobs per node on purpose (their timings are not timing-grade). On KeyboardInterrupt an
    executor stops every job it started and re-raises; jobs it never started get no call at all.
    """

    concurrency: int

    def run_jobs(self, requests: Sequence[WorkRequest], sink: JobSink, *, timeout: float | None = None) -> None: ...


EventHandler = Callable[[int, dict[str, Any]], None]
"""Called with a request's position and each progress event its worker sends."""


@dataclass
class Outcomes:
    """A :class:`JobSink` that keeps every outcome, passing events to ``on_event``."""

    on_event: EventHandler | None = None
    on_end: Callable[[int, ChildOutcome], None] | None = None
    outcomes: dict[int, ChildOutcome] = field(default_factory=dict)

    def job_started(self, position: int, node: Node) -> None:
        pass

    def job_event(self, position: int, event: dict[str, Any]) -> None:
        if self.on_event is not None:
            self.on_event(position, event)

    def job_ended(self, position: int, outcome: ChildOutcome) -> None:
        self.outcomes[position] = outcome
        if self.on_end is not None:
            self.on_end(position, outcome)


def run_all(executor: Executor, requests: Sequence[WorkRequest], *, timeout: float | None = None,
            on_event: EventHandler | None = None, on_end: Callable[[int, ChildOutcome], None] | None = None,
            ) -> list[ChildOutcome]:
    """Run ``requests`` through ``executor``; every one's outcome, in the requests' order.

    ``timeout`` applies to each request. A request the executor never ended (it was interrupted)
    raises nothing here: KeyboardInterrupt comes through as it is.
    """
    sink = Outcomes(on_event, on_end)
    executor.run_jobs(requests, sink, timeout=timeout)
    return [sink.outcomes.get(position, ChildOutcome("failed", error="the executor never ran this request"))
            for position in range(len(requests))]
