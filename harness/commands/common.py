"""What the commands share: loading specs with readable errors, the console."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, NoReturn

import rich_click as click
from rich.console import Console

from harness.spec import Network, SpecError, SpecErrors, load_networks

if TYPE_CHECKING:  # numpy and the plugin machinery are imported where used: `harness check` needs neither
    from harness.framework import Mode
    from harness.plugins import Discovery, Selection

console = Console()
err_console = Console(stderr=True)
EXIT_BAD_INPUT = 2


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


framework_option = click.option(
    "--framework", "framework_names", default="all", show_default=True,
    help="`all` (every installed framework) or names separated by commas, e.g. `keras,torch`.",
)
threads_option = click.option(
    "--threads", type=click.IntRange(min=1), help="Threads per framework worker, the same for every framework (default: all cores).",
)


def parse_modes(context: click.Context, parameter: click.Parameter, text: str) -> list[Mode]:
    """``--mode eager,compiled`` as a list of distinct modes, in the order given."""
    from harness.framework import MODES

    modes = list(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    unknown = [mode for mode in modes if mode not in MODES]
    if unknown or not modes:
        raise click.BadParameter(f"'{text}' is not a comma-separated list of {' and '.join(MODES)}, e.g. eager,compiled.",
                                 ctx=context, param=parameter)
    return modes  # type: ignore[return-value]


mode_option = click.option(
    "--mode", "modes", default="eager", show_default=True, callback=parse_modes,
    help="`eager`, `compiled` (each framework's compiler: XLA, torch.compile, paddle.jit.to_static) or both, "
         "`eager,compiled`: one job (or parity participant) per framework and mode.",
)
device_option = click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True,
                             help="Device the models run on.")


def networks_and_frameworks(
    specs: Iterable[str], framework_names: str,
) -> tuple[list[Network], list[SpecError], Discovery, Selection]:
    """Load SPECS (printing their errors; exit 1 when none loads) and resolve ``--framework``
    (with the one plugin discovery the command passes along)."""
    networks, errors = load_all(specs)
    print_errors(errors)
    if not networks:
        raise SystemExit(1)
    discovery, selection = choose_frameworks(framework_names)
    return networks, errors, discovery, selection


def choose_frameworks(requested: str, code: int = 1) -> tuple[Discovery, Selection]:
    """Resolve ``--framework``; print the skipped ones with their reason; exit when none can run."""
    from harness.plugins import PluginError, discover, select_frameworks

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


def compiled_jobs_left_out(discovery: Discovery, selection: Selection, modes: list[Mode], requested: str) -> dict[str, str]:
    """The frameworks whose compiled jobs are left out (``--framework all`` with ``--mode compiled``:
    they offer no compiled mode), each with its note; exits 2 when a framework named explicitly
    offers none (see :func:`harness.runner.jobs.compiled_left_out`)."""
    from harness.framework import ModeError
    from harness.plugins import ALL
    from harness.runner.jobs import compiled_left_out

    try:
        return compiled_left_out(discovery.classes(selection.names), modes, every=requested.strip() == ALL)
    except ModeError as exc:
        fail(str(exc), EXIT_BAD_INPUT)
