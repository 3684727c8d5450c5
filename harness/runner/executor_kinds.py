"""Executors by name: what ``--executor NAME`` opens (a registry: a new executor is one entry)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

from harness.plugins import Discovery
from harness.runner.child import LocalExecutor
from harness.runner.executor import Executor

Opener = Callable[[Discovery, str | None, int], AbstractContextManager[Executor]]
"""Opens an executor from the plugin discovery, ``--ray-address`` and ``--concurrency``."""


class ExecutorOptionError(ValueError):
    """Options the chosen executor does not take; says which executor does."""


@dataclass(frozen=True)
class ExecutorKind:
    """One executor a command can run its work on."""

    open: Opener
    help: str
    cluster_options: bool = False
    """Whether it takes ``--ray-address`` and ``--concurrency``."""


def open_local(discovery: Discovery, address: str | None, concurrency: int) -> AbstractContextManager[Executor]:
    return nullcontext(LocalExecutor(discovery))


def open_ray(discovery: Discovery, address: str | None, concurrency: int) -> AbstractContextManager[Executor]:
    """A Ray executor; :class:`~harness.runner.ray_executor.RayUnavailable` at once when Ray is not installed."""
    from harness.runner.ray_executor import RayExecutor, import_ray

    import_ray(embedded=address is None)
    return RayExecutor(address=address, concurrency=concurrency)


EXECUTORS: dict[str, ExecutorKind] = {
    "local": ExecutorKind(open_local, "this machine: timed jobs one at a time, each in a fresh worker; counting and parity "
                                      "in one warm worker per framework"),
    "ray": ExecutorKind(open_ray, "every job a Ray task, on an embedded Ray or a cluster (see docs/scaling.md)",
                        cluster_options=True),
}


def open_executor(name: str, discovery: Discovery, *, address: str | None = None,
                  concurrency: int = 1) -> AbstractContextManager[Executor]:
    """The executor called ``name``, as a context manager (Ray's connects and lets go).

    :class:`ExecutorOptionError` for options it does not take; ``ExecutorUnavailable`` when it
    cannot run here (e.g. Ray not installed).
    """
    kind = EXECUTORS[name]
    if not kind.cluster_options and (address is not None or concurrency > 1):
        takers = ", ".join(f"--executor {other}" for other, entry in EXECUTORS.items() if entry.cluster_options)
        raise ExecutorOptionError(f"--ray-address and --concurrency go with {takers}; the {name} executor runs one job at a time.")
    return kind.open(discovery, address, concurrency)
