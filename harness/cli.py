"""The ``harness`` command line: one module per command under :mod:`harness.commands`.

Commands are imported only when invoked, so ``harness check`` never pays for the plotting,
statistics and runner modules that other commands need, and ``harness --help`` imports none of
them: it lists each command with the summary kept in :data:`COMMANDS` (a test keeps each summary
equal to the first paragraph of its command's help).
"""

from __future__ import annotations

import importlib
from typing import NamedTuple

import click as plain_click
import rich_click as click

from harness import __version__

click.rich_click.TEXT_MARKUP = "markdown"


class Entry(NamedTuple):
    """Where a command lives (``module:attribute``) and its one-line summary for ``--help``."""

    target: str
    summary: str


COMMANDS: dict[str, Entry] = {
    "check": Entry("harness.commands.check:check",
                   "Validate SPECS and show each network's layers, parameters and MACs against `expect`."),
    "frameworks": Entry("harness.commands.frameworks:frameworks",
                        "List the framework plugins found, their versions, devices and thread settings."),
    "params": Entry("harness.commands.params:params",
                    "Build every network of SPECS in every framework and compare parameter counts with the oracle and `expect`."),
    "parity": Entry("harness.commands.parity:parity",
                    "Load the same neutral weights into every framework, run the same batch, and compare every layer."),
    "run": Entry("harness.commands.run:run",
                 "Train every network of SPECS in every framework, and measure each."),
    "report": Entry("harness.commands.report:report",
                    "Write `report.md`, `report.html` and the SVG charts for RESULTS (a results.json or its directory)."),
    "compare": Entry("harness.commands.compare:compare",
                     "Compare two runs (results.json files or report directories), per network and framework."),
    "weights": Entry("harness.commands.weights:weights",
                     "Neutral weight files: import a trained model's weights for a spec, or export a run's trained weights."),
    "export": Entry("harness.commands.export:export",
                    "Write the run in RESULTS (a results.json or a report directory) in another tool's format."),
}


def load_command(name: str) -> plain_click.Command:
    """Import the command ``name`` (a key of :data:`COMMANDS`)."""
    module, attribute = COMMANDS[name].target.split(":")
    return getattr(importlib.import_module(module), attribute)


class LazyGroup(click.RichGroup):
    """A group whose subcommands are imported on first use; its own help imports none of them."""

    listing = False
    """True while the group's help is being written: commands are then their summaries alone."""

    def list_commands(self, ctx: plain_click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: plain_click.Context, cmd_name: str) -> plain_click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        if self.listing:
            return click.RichCommand(cmd_name, help=COMMANDS[cmd_name].summary)
        return load_command(cmd_name)

    def invoke(self, ctx: plain_click.Context) -> object:
        """Run the command; running out of memory in this process is one paragraph, never a traceback."""
        try:
            return super().invoke(ctx)
        except MemoryError:
            command = " ".join(["harness", *filter(None, [ctx.invoked_subcommand])])
            plain_click.echo(
                f"error: {command} ran out of memory in the harness' own process (not in a job's worker): a memory or "
                "address-space limit (ulimit -v, prlimit --as, a batch system's memory cap) is lower than it needs, or "
                "the machine's memory is full. Fix: raise that limit or free memory, or run on less data "
                "(--limit-train, --limit-test).", err=True)
            ctx.exit(1)

    def format_help(self, ctx: plain_click.Context, formatter: plain_click.HelpFormatter) -> None:
        self.listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self.listing = False


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="harness")
def main() -> None:
    """Build, check, train and compare one framework-neutral CNN spec in every framework."""
