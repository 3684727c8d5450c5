"""What the commands share: loading specs with readable errors, the console."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NoReturn

from rich.console import Console

from harness.plugins import Discovery, PluginError, Selection, discover, select_frameworks
from harness.spec import Network, SpecError, SpecErrors, load_networks

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


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``error: message`` as one paragraph on stderr and exit with ``code``."""
    err_console.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
    raise SystemExit(code)


def choose_frameworks(requested: str, code: int = 1) -> tuple[Discovery, Selection]:
    """Resolve ``--framework``; print the skipped ones with their reason; exit when none can run."""
    discovery = discover()
    try:
        selection = select_frameworks(requested, discovery)
    except PluginError as exc:
        fail(str(exc), code)
    for name, reason in selection.skipped.items():
        err_console.print(f"skipped {name}: {reason}", markup=False, highlight=False, soft_wrap=True)
    if not selection.names:
        fail("no framework can run here; install one (see `harness frameworks`).", code)
    return discovery, selection
