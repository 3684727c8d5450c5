"""``harness frameworks``: every discovered plugin, its framework, devices and thread settings.

Versions come from package metadata (no import); devices and thread settings are asked from a
worker subprocess per available framework (the ``info`` task, all workers in parallel), so this
process never imports a framework.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

import rich_click as click
from rich.table import Table

from harness.commands.common import console, err_console
from harness.plugins import Discovery, PluginError, Registered, discover
from harness.runner.child import LocalExecutor
from harness.runner.info import probe
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


def _probe(row: FrameworkInfo, executor: LocalExecutor, threads: int, timeout: float | None) -> None:
    """Fill devices and thread settings from an ``info`` worker; a failing worker marks the row."""
    answer = probe(executor, row.name, threads, timeout)
    if isinstance(answer, str):
        row.status, row.reason = FAILED, answer
        return
    row.devices = list(answer.devices)
    row.thread_settings = dict(answer.thread_settings)


def framework_rows(discovery: Discovery, threads: int, timeout: float | None = None) -> list[FrameworkInfo]:
    """A row per registered framework (probed in parallel), broken plugin and missing built-in."""
    rows = [_registered_row(name, registered) for name, registered in discovery.frameworks.items()]
    available = [row for row in rows if row.status == AVAILABLE]
    if available:
        with ThreadPoolExecutor(max_workers=len(available)) as pool:
            executor = LocalExecutor(discovery)
            list(pool.map(lambda row: _probe(row, executor, threads, timeout), available))
    for plugin in discovery.broken:
        rows.append(FrameworkInfo(name=plugin.name, status=BROKEN, plugin=plugin.where, distribution=plugin.distribution,
                                  reason=plugin.error, install=plugin.fix))
    for name, command in discovery.missing_builtins().items():
        rows.append(FrameworkInfo(name=name, status=NOT_INSTALLED, reason="no installed plugin provides it", install=command))
    return rows


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
def frameworks(threads: int | None, timeout: float | None, as_json_output: bool) -> None:
    """List the framework plugins found, their versions, devices and thread settings.

    A framework that cannot run here is listed with the reason and the command that installs
    it; a plugin that fails to load is listed with its error, and the others keep working.
    """
    threads = threads or default_threads()
    try:
        discovery = discover()
    except PluginError as exc:
        err_console.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        raise SystemExit(1) from None
    with err_console.status("asking each framework for its devices and threads..."):
        rows = framework_rows(discovery, threads, timeout)
    if as_json_output:
        click.echo(json.dumps([asdict(row) for row in rows], indent=2))
        return
    console.print(frameworks_table(rows, threads))
