"""The ``harness`` command line: one module per command under :mod:`harness.commands`.

Commands are imported only when invoked, so ``harness check`` never pays for the plotting,
statistics and runner modules that other commands need.
"""

from __future__ import annotations

import importlib

import click as plain_click
import rich_click as click

from harness import __version__

click.rich_click.TEXT_MARKUP = "markdown"

COMMANDS: dict[str, str] = {
    "check": "harness.commands.check:check",
    "frameworks": "harness.commands.frameworks:frameworks",
    "params": "harness.commands.params:params",
    "parity": "harness.commands.parity:parity",
    "run": "harness.commands.run:run",
    "report": "harness.commands.report:report",
    "compare": "harness.commands.compare:compare",
    "export": "harness.commands.export:export",
}


class LazyGroup(click.RichGroup):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: plain_click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: plain_click.Context, cmd_name: str) -> plain_click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, attribute = COMMANDS[cmd_name].split(":")
        return getattr(importlib.import_module(module), attribute)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="harness")
def main() -> None:
    """Build, check, train and compare one framework-neutral CNN spec in every framework."""
