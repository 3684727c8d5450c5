"""``harness frameworks``: every discovered plugin, its framework, devices and thread settings.

Versions come from package metadata (no import); devices and thread settings are asked from a
worker subprocess per available framework (the ``info`` task, all workers in parallel), so this
process never imports a framework.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import rich_click as click
from rich.table import Table

from harness.commands.common import console, err_console
from harness.plugins import Discovery, PluginError, Registered, discover
from harness.runner.child import LocalExecutor
from harness.runner.info import Answer
from harness.runner.info_cache import cached, cached_probe, forget
from harness.runner.threads import default_threads

AVAILABLE, UNAVAILABLE, BROKEN, NOT_INSTALLED, FAILED = "available", "unavailable", "broken", "not installed", "failed"


@dataclass
class FrameworkInfo:
    """One row of the table: a framework (or a plugin that provides none) and its state."""

    name: str
    status: str
    display_name: str = ""
    plugin: str = ""
    distribution: str | None = None
    distribution_version: str | None = None
    framework_version: str | None = None
    devices: list[str] = field(default_factory=list)
    thread_settings: dict[str, Any] = field(default_factory=dict)
    compiled_mode: str | None = None
    reason: str | None = None
    install: str | None = None


def _registered_row(name: str, registered: Registered) -> FrameworkInfo:
    cls = registered.framework
    reason = registered.unavailable_reason()
    return FrameworkInfo(
        name=name, status=AVAILABLE if reason is None else UNAVAILABLE, display_name=getattr(cls, "display_name", name),
        plugin=registered.plugin, distribution=registered.distribution,
        distribution_version=registered.distribution_version, framework_version=cls.version(),
        compiled_mode=getattr(cls, "compiled_mode", None), reason=reason, install=getattr(cls, "install_hint", None),
    )


def _fill(row: FrameworkInfo, answer: Answer) -> None:
    """Devices and thread settings from an ``info`` worker's answer; a failing worker marks the row."""
    if isinstance(answer, str):
        row.status, row.reason = FAILED, answer
        return
    row.devices = list(answer.devices)
    row.thread_settings = dict(answer.thread_settings)


def framework_rows(discovery: Discovery, threads: int, timeout: float | None = None,
                   on_probed: Callable[[FrameworkInfo], None] | None = None) -> list[FrameworkInfo]:
    """A row per registered framework (probed in parallel), broken plugin and missing built-in.

    ``on_probed`` is called with each available framework's row as soon as its worker is done.
    """
    rows = [_registered_row(name, registered) for name, registered in discovery.frameworks.items()]
    available = {row.name: row for row in rows if row.status == AVAILABLE}

    def fill_and_tell(name: str, answer: Answer) -> None:
        _fill(available[name], answer)
        if on_probed is not None:
            on_probed(available[name])

    if available:
        cached_probe(LocalExecutor(discovery, warm_workers=len(available)), list(available), threads, timeout, fill_and_tell)
    for plugin in discovery.broken:
        rows.append(FrameworkInfo(name=plugin.name, status=BROKEN, plugin=plugin.where, distribution=plugin.distribution,
                                  reason=plugin.error, install=plugin.fix))
    for name, command in discovery.missing_builtins().items():
        rows.append(FrameworkInfo(name=name, status=NOT_INSTALLED, reason="no installed plugin provides it", install=command))
    return rows


def waiting_text(waiting: list[str]) -> str:
    """What ``harness frameworks`` is waiting for, e.g. ``importing Keras/TensorFlow, PyTorch in ...``."""
    return f"importing {', '.join(waiting)} in worker processes to read devices and threads..."


def probe_with_status(discovery: Discovery, threads: int, timeout: float | None) -> list[FrameworkInfo]:
    """:func:`framework_rows`, saying on stderr which frameworks it is still waiting for.

    On a terminal a status line names the frameworks still importing; otherwise (a log, a pipe)
    one line says what is being waited for.
    """
    executor = LocalExecutor(discovery)
    waiting = {name: getattr(registered.framework, "display_name", name) or name
               for name, registered in discovery.frameworks.items()
               if registered.unavailable_reason() is None and cached(executor, name, threads) is None}
    if not waiting:
        return framework_rows(discovery, threads, timeout)
    if not err_console.is_terminal:
        err_console.print(waiting_text(list(waiting.values())), markup=False, highlight=False, soft_wrap=True)
        return framework_rows(discovery, threads, timeout)
    lock = threading.Lock()
    with err_console.status(waiting_text(list(waiting.values()))) as status:
        def on_probed(row: FrameworkInfo) -> None:
            with lock:
                waiting.pop(row.name, None)
                if waiting:
                    status.update(waiting_text(list(waiting.values())))
        return framework_rows(discovery, threads, timeout, on_probed)


def _plugin_text(row: FrameworkInfo) -> str:
    """The package that provides the row (and the plugin's name when it is not the framework's)."""
    lines = [] if row.plugin in ("", row.name) else [row.plugin]
    if row.distribution is not None:
        lines.append(f"{row.distribution} {row.distribution_version or ''}".strip())
    return "\n".join(lines) or "-"


def _threads_text(settings: dict[str, Any]) -> str:
    return "\n".join(f"{key}={value}" for key, value in settings.items()) or "-"


def _status_text(row: FrameworkInfo) -> str:
    if row.status == AVAILABLE:
        return "[green]available[/]"
    install = f"\n[bold]install:[/] {row.install}" if row.install and row.status in (UNAVAILABLE, NOT_INSTALLED) else ""
    fix = f"\n[bold]fix:[/] {row.install}" if row.install and row.status == BROKEN else ""
    return f"[red]{row.status}[/]: {row.reason}{install}{fix}"


def frameworks_table(rows: list[FrameworkInfo], threads: int) -> Table:
    """The rich table ``harness frameworks`` prints."""
    table = Table(title=f"Framework plugins (thread settings for --threads {threads})", title_justify="left", show_lines=True)
    for column in ("framework", "plugin", "version", "devices", "threads", "compiled mode", "status"):
        table.add_column(column, overflow="fold")
    for row in rows:
        name = f"[bold]{row.name}[/]" + (f"\n{row.display_name}" if row.display_name and row.display_name != row.name else "")
        table.add_row(name, _plugin_text(row), row.framework_version or "-", ", ".join(row.devices) or "-",
                      _threads_text(row.thread_settings), row.compiled_mode or "-", _status_text(row))
    return table


@click.command()
@click.option("--threads", type=click.IntRange(min=1), help="Threads each framework is started with (default: all cores).")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), help="Seconds each framework's worker may take.")
@click.option("--json", "as_json_output", is_flag=True, help="Print the list as JSON on stdout.")
@click.option("--refresh", is_flag=True, help="Ask every framework again instead of using the answers remembered for a day "
                                              "(~/.cache/harness/frameworks.json; a changed plugin or environment is asked anyway).")
def frameworks(threads: int | None, timeout: float | None, as_json_output: bool, refresh: bool) -> None:
    """List the framework plugins found, their versions, devices and thread settings.

    A framework that cannot run here is listed with the reason and the command that installs
    it; a plugin that fails to load is listed with its error, and the others keep working.
    """
    threads = threads or default_threads()
    if refresh:
        forget()
    try:
        discovery = discover()
    except PluginError as exc:
        err_console.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        raise SystemExit(1) from None
    rows = probe_with_status(discovery, threads, timeout)
    if as_json_output:
        click.echo(json.dumps([asdict(row) for row in rows], indent=2))
        return
    console.print(frameworks_table(rows, threads))
