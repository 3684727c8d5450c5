"""The ``harness`` command line: one module per command under :mod:`harness.commands`."""

from __future__ import annotations

import rich_click as click

from harness import __version__
from harness.commands.check import check
from harness.commands.compare import compare
from harness.commands.frameworks import frameworks
from harness.commands.params import params
from harness.commands.report import report
from harness.commands.run import run

click.rich_click.USE_MARKDOWN = True


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="harness")
def main() -> None:
    """Build, check, train and compare one framework-neutral CNN spec in every framework."""


main.add_command(check)
main.add_command(run)
main.add_command(frameworks)
main.add_command(params)
main.add_command(report)
main.add_command(compare)
