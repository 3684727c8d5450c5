"""``harness weights``: neutral weight files in and out (``import`` from a trained model, ``export`` from a run)."""

from __future__ import annotations

from pathlib import Path

import rich_click as click
from rich.table import Table

from harness.commands.common import console, fail
from harness.neutral.conversion import ConversionError, Conversion, choose_reader, convert, weight_readers
from harness.plugins import discover
from harness.runner.jobs import WEIGHTS_FOLDER
from harness.spec import Network, SpecError, SpecErrors, load_network
from harness.neutral.weight_file import WeightFileError, read_weight_file, write_weight_file

EXIT_BAD_INPUT = 2


@click.group()
def weights() -> None:
    """Neutral weight files: import a trained model's weights for a spec, or export a run's trained weights.

    A neutral weight file (`.npz`, see docs/spec-format.md) starts a run from given weights in every
    framework: `train: {init: {weights: FILE, sha256: ...}}` in the spec, or `harness run --init-weights FILE`.
    """


def _network(spec: Path, variant: str | None) -> Network:
    try:
        return load_network(spec, variant)
    except (SpecError, SpecErrors) as exc:
        fail(str(exc), EXIT_BAD_INPUT)


def _write(path: Path, tensors: dict) -> str:
    """Write the file (whole, then renamed into place) and return its sha256."""
    partial = path.with_name(f".{path.name}.part")
    try:
        digest = write_weight_file(partial, tensors)
        partial.replace(path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        fail(f"cannot write {path}: {exc.strerror or exc}. Fix: choose a folder you can write to with -o.", EXIT_BAD_INPUT)
    return digest


def _init_snippet(path: Path, digest: str, layers: str) -> str:
    part = "" if layers == "all" else f", layers: {layers}"
    return f"train: {{init: {{weights: {path}, sha256: {digest}{part}}}}}"


def mapping_table(conversion: Conversion) -> Table:
    """Which model layer each spec layer's weights came from."""
    table = Table(title="spec layer <- model layer", title_justify="left")
    table.add_column("spec layer")
    table.add_column("model layer")
    table.add_column("tensors")
    for spec_layer, model_layer in conversion.pairs:
        shapes = ", ".join(f"{name} {tuple(array.shape)}" for name, array in conversion.weights[spec_layer].items())
        table.add_row(spec_layer, model_layer, shapes)
    return table


@weights.command("import")
@click.argument("source")
@click.option("--spec", "spec_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The spec the weights are for.")
@click.option("--variant", help="The spec's variant (its layers decide the shapes; default: the spec without variants).")
@click.option("--layers", type=click.Choice(["all", "backbone"]), default="all", show_default=True,
              help="`all`: the model's layers map onto the spec's from the first (a model that stops after the backbone "
                   "gives the backbone alone); `backbone`: the model's first layers give the backbone, the rest are ignored.")
@click.option("--reader", help="The reader to use (default: the one that accepts SOURCE): `keras`, `torch` or a plugin's.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The .npz to write.")
def import_weights(source: str, spec_path: Path, variant: str | None, layers: str, reader: str | None, output: Path) -> None:
    """Convert a trained model into a neutral weight file for a spec, checked layer by layer.

    SOURCE is a saved Keras model (`.keras`, `.h5`), `keras.applications.NAME` (ImageNet weights,
    downloaded by Keras once and cached in ~/.keras/models: the only step that needs the network), or a
    PyTorch state_dict (`.pt`, `.pth`). The model's weighted layers are matched in order with the
    spec's; each pair is checked (kind, bias, shapes, batch-norm epsilon and statistics) and converted
    (channels-first kernels, a flatten's row order); where the model runs, its logits are compared with
    the spec's on the converted weights. Exits 2 naming the spec layer, the model layer and the fix on
    any mismatch.
    """
    network = _network(spec_path, variant)
    try:
        chosen = choose_reader(weight_readers(discover().manager), source, reader)
        model = chosen.read(source, network)
        conversion = convert(model, network, layers)  # type: ignore[arg-type]
    except ConversionError as exc:
        fail(f"cannot import {source} for {network.key}: {exc}", EXIT_BAD_INPUT)
    console.print(mapping_table(conversion))
    digest = _write(output, conversion.weights)
    console.print(f"{model.description}: {len(conversion.pairs)} layers converted for {network.key}.", highlight=False)
    if conversion.left:
        console.print(f"Not in the file (they keep the spec's initialisation): {', '.join(conversion.left)}.", highlight=False)
    if conversion.logits_max_abs is not None:
        console.print(f"The model's logits and the spec's on these weights differ by at most {conversion.logits_max_abs:.3g}.",
                      highlight=False)
    for note in conversion.notes:
        console.print(f"note: {note}", highlight=False)
    part = "backbone" if layers == "backbone" or (conversion.left and layers == "all") else "all"
    console.print(f"Wrote {output} (sha256 {digest}). Start a run from it with:\n  {_init_snippet(output, digest, part)}",
                  highlight=False, soft_wrap=True)


def saved_file(run: Path, network: Network, framework: str, seed: int | None) -> Path:
    """The one file of ``run``'s saved weights for ``network`` in ``framework`` (and ``seed``)."""
    folder = run / WEIGHTS_FOLDER
    pattern = f"{network.slug}__{framework}__seed{'*' if seed is None else seed}.npz"
    found = sorted(folder.glob(pattern)) if folder.is_dir() else []
    if len(found) != 1:
        what = "no saved weights match" if not found else f"{len(found)} saved weight files match ({', '.join(p.name for p in found)})"
        fix = ("run it with `harness run --save-weights`" if not found else "choose one with --seed")
        fail(f"{what} {network.key} in {framework} under {folder}. Fix: {fix}.", EXIT_BAD_INPUT)
    return found[0]


@weights.command("export")
@click.argument("run", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--spec", "spec_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The spec the run trained.")
@click.option("--variant", help="The spec's variant the run trained.")
@click.option("--framework", required=True, help="The framework whose trained weights to export.")
@click.option("--seed", type=click.IntRange(min=0), help="The job's seed, when the run trained several.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The .npz to write.")
def export_weights(run: Path, spec_path: Path, variant: str | None, framework: str, seed: int | None, output: Path) -> None:
    """Write a framework's trained weights from RUN (a `harness run --save-weights` output folder) to a neutral weight file.

    The file is checked against the spec (every layer, shapes, finite values) and written again, so that
    another run, in any framework, can start from it (`--init-weights` or `train.init.weights`).
    """
    network = _network(spec_path, variant)
    source = saved_file(run, network, framework, seed)
    try:
        tensors, _ = read_weight_file(source, network)
    except WeightFileError as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    digest = _write(output, tensors)
    console.print(f"Wrote {output}: {framework}'s trained weights of {network.key} ({len(tensors)} layers, sha256 "
                  f"{digest}). Start a run from it with:\n  {_init_snippet(output, digest, 'all')}",
                  highlight=False, soft_wrap=True)
