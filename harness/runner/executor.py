"""What the orchestrator asks of an executor (local or Ray), and what an executor tells it back."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from harness.results import Node
from harness.runner.protocol import TrainRequest

if TYPE_CHECKING:
    from harness.runner.child import ChildOutcome


class JobSink(Protocol):
    """Receives what happens to the jobs an executor runs, by their position in its list."""

    def job_started(self, position: int, node: Node) -> None: ...
    def job_event(self, position: int, event: dict[str, Any]) -> None: ...
    def job_ended(self, position: int, outcome: ChildOutcome) -> None: ...


class Executor(Protocol):
    """Runs training jobs in isolated workers and reports each one's end the moment it comes.

    ``concurrency`` above 1 means the executor packs several jobs per node on purpose (their
    timings are not timing-grade). On KeyboardInterrupt an executor stops every job it started
    and re-raises; jobs it never started get no call at all.
    """

    concurrency: int

    def run_jobs(self, requests: Sequence[TrainRequest], sink: JobSink, *, timeout: float | None = None) -> None: ...
