"""What the commands share: loading specs with readable errors, the console."""

from __future__ import annotations

import sys
from collections.abc import Iterable

from rich.console import Console

from harness.spec import Network, SpecErrors, SpecError, load_networks

console = Console()
err_console = Console(stderr=True)


def load_all(paths: Iterable[str]) -> tuple[list[Network], list[SpecError]]:
    """Every network of every file, and every spec error found (never raised)."""
    networks: list[Network] = []
    errors: list[SpecError] = []
    for path in paths:
        try:
            networks.extend(load_networks(path))
        except SpecErrors as exc:
            errors.extend(exc.errors)
        except SpecError as exc:
            errors.append(exc)
    return networks, errors


def print_errors(errors: Iterable[SpecError]) -> None:
    """Each error as its own paragraph on stderr, without markup interpretation."""
    for error in errors:
        err_console.print(error.message, markup=False, highlight=False, soft_wrap=True)
        err_console.print()


def exit_with(code: int) -> None:
    sys.exit(code)
