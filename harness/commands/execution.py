"""Where a command's workers run: the executor options every command that runs workers shares,
and choosing and starting the executor they name (kept apart from :mod:`harness.commands.common`
so that `harness check` imports no executor machinery)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TypeVar

import rich_click as click

from harness import limits
from harness.commands.common import EXIT_BAD_INPUT, err_console
from harness.plugins import Discovery
from harness.runner.executor import Executor, ExecutorUnavailable
from harness.runner.executor_kinds import EXECUTORS, ExecutorOptionError, open_executor

Command = TypeVar("Command", bound=Callable[..., object])


def executor_options(command: Command) -> Command:
    """``--executor``, ``--ray-address`` and ``--concurrency``, the same on every command that runs workers."""
    choices = "; ".join(f"`{name}`: {kind.help}" for name, kind in EXECUTORS.items())
    options = [
        click.option("--executor", "executor_name", type=click.Choice(list(EXECUTORS)), default="local", show_default=True,
                     help=f"Where the workers run. {choices}."),
        click.option("--ray-address", help="With --executor ray: `auto` or `ray://HEAD:10001` joins a cluster "
                                           "(default: start an embedded local Ray)."),
        click.option("--concurrency", type=click.IntRange(1, limits.MAX_THREADS), default=1, show_default=True,
                     help="With --executor ray: pack N jobs per node (each asks Ray for threads/N CPUs); for accuracy-only "
                          "sweeps, their timings are marked as not timing-grade."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def choose_executor(name: str, address: str | None, concurrency: int, discovery: Discovery) -> AbstractContextManager[Executor]:
    """The executor ``--executor`` names, not yet started; a usage error for options it does not
    take, exit 2 with the fix when it cannot run here (Ray not installed)."""
    try:
        return open_executor(name, discovery, address=address, concurrency=concurrency)
    except ExecutorOptionError as exc:
        raise click.BadParameter(str(exc), param_hint="--executor") from None
    except ExecutorUnavailable as exc:
        err_console.print(str(exc), markup=False, highlight=False, soft_wrap=True)
        raise SystemExit(EXIT_BAD_INPUT) from None


@contextmanager
def started(executor: AbstractContextManager[Executor]) -> Iterator[Executor]:
    """Start the executor for the ``with`` block; exit 2 with the fix when it cannot run the work
    (a cluster out of reach, jobs no node can run)."""
    try:
        with executor as running:
            yield running
    except ExecutorUnavailable as exc:
        err_console.print(str(exc), markup=False, highlight=False, soft_wrap=True)
        raise SystemExit(EXIT_BAD_INPUT) from None
