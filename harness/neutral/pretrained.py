"""``train.init: {weights: file.npz}``: which layers start from a weight file, and the record of it.

The parent pins the file before any worker starts (:func:`pin_init`: the file is read and checked
in full, a relative path is made absolute from the spec's folder, and its sha256 is written into
the job's ``train.init``), so a bad file fails the run at once, with one paragraph, and the job's
spec digest names the file's content. The worker applies it (:func:`apply_init`): the layers the
file holds (of the part ``layers`` names) are loaded over the model's own start, which is each
framework's initialisation (``others: framework``) or the harness's shared neutral weights
(``others: shared``); the result records it all as :class:`WeightSources`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.framework import Framework, NeutralWeights
from harness.results import SavedWeights, WeightSources
from harness.spec import Network
from harness.spec.network import in_head, with_train
from harness.spec.schema import InitFile
from harness.neutral.weight_file import WeightFileError, read_weight_file, write_weight_file
from harness.neutral.weights import initial_weights, weight_shapes

def save_trained(framework: Framework, model: Any, path: Path) -> SavedWeights:
    """Write ``model``'s weights to ``path`` as a neutral weight file (written whole, then renamed)."""
    partial = path.with_name(f".{path.name}.part")
    digest = write_weight_file(partial, framework.export_weights(model))
    partial.replace(path)
    return SavedWeights(file=str(path), sha256=digest)


def init_label(init: object) -> str | None:
    """``train.init`` as recorded in a job's config, in a few words (``weights lenet.npz``)."""
    if isinstance(init, dict) and "weights" in init:
        return f"weights {Path(str(init['weights'])).name}"
    return None if init is None else str(init)


def weights_path(init: InitFile, network: Network) -> Path:
    """The file ``init`` names; a relative path starts at the folder of the spec file."""
    path = Path(init.weights).expanduser()
    return path if path.is_absolute() or not network.path else Path(network.path).parent / path


def part_layers(network: Network, part: str) -> list[str]:
    """The weighted layers of ``part`` (``all``, ``backbone`` or ``head``), in network order."""
    head = {node.name for node in network.walk() if in_head(node)}
    names = list(weight_shapes(network))
    if part == "all":
        return names
    return [name for name in names if (name in head) == (part == "head")]


def missing_note(path: Path) -> str:
    """What the report says when an optional weight file is absent."""
    return (f"{path} does not exist; get it with `harness weights import` (see docs/spec-format.md) or pass "
            f"--init-weights, then run again")


def with_weight_file(network: Network, path: Path) -> Network:
    """``network`` started from the weight file ``path`` (``--init-weights``): the spec's own
    ``train.init`` with this file (and no pinned sha256), or every layer the file holds."""
    init = network.spec.train.init
    chosen = InitFile(weights=str(path.resolve()))
    if isinstance(init, InitFile):
        chosen = init.model_copy(update={"weights": chosen.weights, "sha256": None, "missing": "error"})
    return with_train(network, init=chosen)


def pin_init(network: Network, override: Path | None = None) -> Network:
    """``network`` with its weight file (if any; ``override`` replaces the spec's) checked, its path
    absolute and its sha256 pinned.

    Raises :class:`~harness.neutral.weight_file.WeightFileError`; an absent file with ``missing: others``
    is left unpinned (the worker records that it was not available).
    """
    if override is not None:
        network = with_weight_file(network, override)
    init = network.spec.train.init
    if not isinstance(init, InitFile):
        return network
    path = weights_path(init, network)
    if not path.exists() and init.missing == "others":
        return network
    _, digest = read_weight_file(path, network, init.sha256)
    return with_train(network, init=init.model_copy(update={"weights": str(path.resolve()), "sha256": digest}))


def unavailable_notes(networks: list[Network]) -> list[str]:
    """A note for every network whose optional weight file (``missing: others``) is absent."""
    notes = []
    for network in networks:
        init = network.spec.train.init
        if isinstance(init, InitFile) and not weights_path(init, network).exists():
            notes.append(f"{network.key}: the weight file is not available, so every layer starts from {init.others} "
                         f"initialisation ({missing_note(weights_path(init, network))})")
    return notes


def start_weights(network: Network, seed: int,
                  own: NeutralWeights | None) -> tuple[NeutralWeights | None, WeightSources | None]:
    """The neutral weights to load before training (None: keep the model as built) and their record.

    ``own`` is the framework's own initial weights (exported from the model as built), used for
    the layers the file does not give when ``others`` is ``framework``.
    """
    init = network.spec.train.init
    if init == "shared":
        return initial_weights(network, seed), None
    if not isinstance(init, InitFile):
        return None, None
    path = weights_path(init, network)
    names = list(weight_shapes(network))
    if not path.exists() and init.missing == "others":
        start = initial_weights(network, seed) if init.others == "shared" else None
        return start, WeightSources(file=None, others=init.others, from_others=names, note=missing_note(path))
    loaded, digest = read_weight_file(path, network, init.sha256, part_layers(network, init.layers))
    if not loaded:
        raise WeightFileError(path, f"it holds no layer of the {init.layers} part of {network.key}.",
                              "import the weights of that part, or change train.init.layers.")
    base = initial_weights(network, seed) if init.others == "shared" else dict(own or {})
    start = {**base, **loaded}
    sources = WeightSources(file=str(path), sha256=digest, from_file=[name for name in names if name in loaded],
                            others=init.others, from_others=[name for name in names if name not in loaded])
    return start, sources


def apply_init(framework: Framework, model: Any, network: Network, seed: int) -> WeightSources | None:
    """Load the job's starting weights into ``model`` (built by ``framework``); the record, for a weight file."""
    init = network.spec.train.init
    own = framework.export_weights(model) if isinstance(init, InitFile) and init.others == "framework" else None
    start, sources = start_weights(network, seed, own)
    if start is not None:
        framework.load_weights(model, start)
    return sources
