"""Training parity: the same weights, the same batches, N steps of the spec's optimizer, compared.

Every framework starts from the same seeded neutral weights and runs N training steps on the same
N seeded batches (synthetic images in [0, 1] and labels; the harness draws them, so the order is
the same by construction and is checked: each worker reports a digest of every batch it trained
on). Dropout is *off* in every framework and in the reference (rate 0: random masks cannot be
shared), batch norm runs on batch statistics and updates its moving statistics.

The numpy reference (:mod:`harness.reference_train`) trains the same way. A framework is compared
with the reference run with *its declared* departures (:class:`harness.framework.TrainingConventions`,
e.g. PyTorch's unbiased BN moving variance), and the size of each departure's effect (that
reference against the neutral one) is stated next to it; two frameworks are compared with each
other allowing exactly the difference their declared departures make in the reference.

Per step the losses are compared, and per tensor the norm of how far training has moved it; after
the last step every tensor, BN moving statistics included. Tolerances grow linearly with the step
(:class:`Tolerances`), and on top of them each comparison allows :data:`ROUNDING_FACTOR` times what
float32 rounding alone does to this network's training (the reference run in float32 against
float64, stated in the output); the first step and layer beyond that are named.

Where float32 rounding moves an element more than training does (Adam normalising a conv bias
gradient that the batch norm after it cancels exactly: in float32 that gradient is rounding noise,
and each framework's noise differs), the element is left out of every comparison, in every run,
and the output names each such tensor with how many of its elements were left out
(:func:`harness.train_compare.rounding_driven`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness.framework import NEUTRAL_CONVENTIONS, Framework, NeutralWeights, TrainingConventions
from harness.parity import REFERENCE
from harness.runner.parity import input_sizes
from harness.reference_train import ReferenceTrainer
from harness.runner.child import LocalExecutor
from harness.runner.protocol import ResolvedNetwork, TrainParityRequest, TrainParityResult
from harness.spec import Network, Node
from harness.spec.network import trace
from harness.train_compare import (
    NOISE_SHARE, ROUNDING_FACTOR, TOLERANCES, Excluded, Tolerances, TrainingRun, TrainPair, compare_runs, kept,
    rounding_driven,
)
from harness.weights import initial_weights, load_weights, save_weights

DEFAULT_STEPS = 10
DEFAULT_BATCH = 4
RUN_STEPS = 5
"""Steps ``harness run`` checks with ``--init shared`` (first-steps agreement, in the report)."""
DATA_STREAM = 0x7A1
"""Mixed into the seed of the training-parity batches (distinct from the weights' stream)."""


def _no_dropout(nodes: tuple[Node, ...]) -> tuple[Node, ...]:
    return tuple(
        dataclasses.replace(
            node,
            layer=node.layer.model_copy(update={"rate": 0.0}) if node.type == "dropout" else node.layer,
            children=_no_dropout(node.children),
        )
        for node in nodes
    )


def without_dropout(network: Network) -> Network:
    """``network`` with every dropout layer's rate set to 0 (layer names and weights unchanged)."""
    nodes = _no_dropout(network.nodes)
    return dataclasses.replace(network, nodes=nodes, trace=tuple(trace(nodes, network.spec.input)))


def training_batches(network: Network, steps: int, batch: int, seed: int,
                     size: tuple[int, int] | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """``steps`` seeded batches of synthetic images in [0, 1] and labels, at ``size`` or the first
    size forward parity checks (the spec's own, or its data set's first for a size-agnostic network)."""
    channels = int(network.input_shape[2])  # type: ignore[arg-type]
    height, width = size or input_sizes(network)[0]
    rng = np.random.Generator(np.random.PCG64([seed, DATA_STREAM]))
    return [
        (rng.random((batch, height, width, channels), dtype=np.float32),
         rng.integers(0, network.spec.classes, batch).astype(np.int64))
        for _ in range(steps)
    ]


def batch_digest(images: np.ndarray, labels: np.ndarray) -> str:
    """A short digest of one batch's images and labels."""
    digest = hashlib.blake2b(digest_size=8)
    digest.update(np.ascontiguousarray(images, dtype=np.float32).tobytes())
    digest.update(np.ascontiguousarray(labels, dtype=np.int64).tobytes())
    return digest.hexdigest()


def weight_changes(start: NeutralWeights, now: NeutralWeights, excluded: Excluded | None = None) -> dict[str, float]:
    """Per tensor (``layer/tensor``), the L2 norm of ``now - start`` (float64) over the elements
    ``excluded`` does not leave out."""
    return {
        f"{layer}/{name}": float(np.linalg.norm(kept(f"{layer}/{name}", np.asarray(now[layer][name], dtype=np.float64)
                                                    - array.astype(np.float64), excluded)))
        for layer, tensors in start.items() for name, array in tensors.items()
    }


def relevant_departures(conventions: TrainingConventions, network: Network) -> dict[str, str]:
    """The declared departures that can change how ``network`` trains (its optimizer, its layers)."""
    optimizer = network.spec.train.optimizer.name
    applies = {"adam_epsilon": optimizer == "adam", "rmsprop_epsilon": optimizer == "rmsprop",
               "bn_moving_variance": any(node.type == "batch_norm" for node in network.walk())}
    return {name: value for name, value in conventions.departures().items() if applies[name]}


def reference_run(network: Network, weights: NeutralWeights, batches: list[tuple[np.ndarray, np.ndarray]],
                  conventions: TrainingConventions = NEUTRAL_CONVENTIONS, dtype: type[np.floating] = np.float64,
                  excluded: Excluded | None = None) -> TrainingRun:
    """The numpy reference's N steps with ``conventions``, computed in ``dtype``; its changes leave
    out the elements ``excluded`` names."""
    trainer = ReferenceTrainer(network, weights, network.spec.train.optimizer, conventions, dtype=dtype)
    losses, digests, changes = [], [], []
    for images, labels in batches:
        losses.append(trainer.step(images, labels)[0])
        digests.append(batch_digest(images, labels))
        changes.append(weight_changes(weights, trainer.weights, excluded))
    return TrainingRun(REFERENCE, losses, digests, changes, trainer.export(), relevant_departures(conventions, network))


def framework_run(framework: Framework, network: Network, weights: NeutralWeights,
                  batches: list[tuple[np.ndarray, np.ndarray]], excluded: Excluded | None = None) -> TrainingRun:
    """``framework``'s N steps in this process: build, load ``weights``, ``train_step`` per batch;
    its changes leave out the elements ``excluded`` names."""
    model = framework.build(network)
    framework.load_weights(model, weights)
    trainer = framework.prepare_training(model, network.spec.train)
    losses, digests, changes = [], [], []
    for images, labels in batches:
        losses.append(framework.train_step(trainer, images, labels).loss)
        digests.append(batch_digest(images, labels))
        changes.append(weight_changes(weights, framework.export_weights(model), excluded))
    conventions = relevant_departures(type(framework).training_conventions, network)
    return TrainingRun(framework.name, losses, digests, changes, framework.export_weights(model), conventions)


@dataclass
class NetworkTraining:
    """Training parity of one network: every pair, the departures' effects, failures."""

    network: str
    steps: int
    batch: int
    input_shape: list[int]
    pairs: list[TrainPair] = field(default_factory=list)
    departures: dict[str, TrainPair] = field(default_factory=dict)
    """Framework -> its declared-departures reference against the neutral reference (the effect)."""
    failures: dict[str, str] = field(default_factory=dict)
    data: str = ""
    rounding: TrainPair | None = None
    """The reference in float32 against float64: how far rounding alone carries this training."""
    excluded: dict[str, list[int]] = field(default_factory=dict)
    """``layer/tensor`` -> [elements left out, elements]: those rounding moves more than training."""

    @property
    def passed(self) -> bool:
        return not self.failures and all(pair.passed for pair in self.pairs)

    def left_out(self) -> str | None:
        """The tensors with elements left out, how many, and why; ``None`` when none were."""
        if not self.excluded:
            return None
        tensors = ", ".join(f"{key} ({left} of {total} elements)" for key, (left, total) in sorted(self.excluded.items()))
        return f"left out: {tensors}; {left_out_rule()}"

    def as_dict(self, per_layer: bool = False) -> dict[str, Any]:
        return {"network": self.network, "steps": self.steps, "batch": self.batch, "input_shape": self.input_shape,
                "passed": self.passed, "data": self.data, "dropout": "off (rate 0 in every framework and the reference)",
                "tolerances": TOLERANCES.describe(), "failures": self.failures,
                "departures": {name: pair.as_dict() for name, pair in self.departures.items()},
                "float32_rounding": None if self.rounding is None else self.rounding.as_dict(),
                "rounding_factor": ROUNDING_FACTOR,
                "left_out": {"rule": left_out_rule(), "tensors": self.excluded},
                "pairs": [pair.as_dict(per_layer) for pair in self.pairs]}


def left_out_rule() -> str:
    """Which elements training parity leaves out, in words."""
    return (f"elements that float32 rounding moves more than training does (the reference in float32 ends more than "
            f"{NOISE_SHARE:g} of their float64 change from the float64 reference) are left out of every comparison")


def _reference_name(run: TrainingRun) -> str:
    departures = ", ".join(f"{k}={v}" for k, v in sorted(run.conventions.items()))
    return REFERENCE if not departures else f"{REFERENCE} ({departures})"


def _framework_run(name: str, network: Network, folder: Path, steps: int, executor: LocalExecutor, *, threads: int,
                   device: str, seed: int, timeout: float | None, excluded: bool) -> TrainingRun | str:
    output = folder / f"{name}-trained.npz"
    request = TrainParityRequest(framework=name, device=device, threads=threads, seed=seed, network=ResolvedNetwork.of(network),
                                 weights=str(folder / "weights.npz"), batches=str(folder / "batches.npz"), steps=steps,
                                 output=str(output), excluded=str(folder / EXCLUDED_FILE) if excluded else None)
    outcome = executor.run(request, timeout=timeout)
    if not isinstance(outcome.result, TrainParityResult):
        return f"{outcome.status}: {outcome.error or outcome.output_tail[-400:]}"
    records = outcome.result.steps
    return TrainingRun(name, [r.loss for r in records], [r.batch for r in records],
                       [r.change_norm for r in records], load_weights(output), outcome.result.conventions)


EXCLUDED_FILE = "excluded.npz"


def save_excluded(path: Path, excluded: Excluded) -> None:
    """Write ``excluded`` as ``.npz`` (keys ``layer/tensor``), for the workers."""
    np.savez(path, **excluded)


def load_excluded(path: str | None) -> Excluded | None:
    """Read what :func:`save_excluded` wrote (``None`` for no file)."""
    if path is None:
        return None
    with np.load(path) as archive:
        return {key: archive[key].astype(bool) for key in archive.files}


def _rounding_references(network: Network, start: NeutralWeights, batches: list[tuple[np.ndarray, np.ndarray]],
                         ) -> tuple[TrainingRun, TrainingRun, Excluded]:
    """The reference in float64 and in float32, and the elements rounding rather than training moves
    (the two runs again without them, when there are any)."""
    float64, float32 = reference_run(network, start, batches), reference_run(network, start, batches, dtype=np.float32)
    excluded = rounding_driven(start, float64, float32)
    if excluded:
        float64 = reference_run(network, start, batches, excluded=excluded)
        float32 = reference_run(network, start, batches, dtype=np.float32, excluded=excluded)
    return float64, dataclasses.replace(float32, name=f"{REFERENCE} in float32"), excluded


def check_training(network: Network, frameworks: list[str], executor: LocalExecutor, *, steps: int = DEFAULT_STEPS,
                   batch: int = DEFAULT_BATCH,
                   threads: int, device: str = "cpu", seed: int = 0, timeout: float | None = None,
                   size: tuple[int, int] | None = None, tolerances: Tolerances = TOLERANCES) -> NetworkTraining:
    """Train ``network`` ``steps`` steps in every framework and in the reference, and compare."""
    trained = without_dropout(network)
    batches = training_batches(trained, steps, batch, seed, size)
    shape = list(batches[0][0].shape[1:])
    result = NetworkTraining(network.key, steps, batch, shape,
                             data=f"{steps} seeded synthetic batches of {batch} images {'x'.join(map(str, shape))} and labels")
    start = initial_weights(trained, seed)
    neutral, float32, excluded = _rounding_references(trained, start, batches)
    references: dict[TrainingConventions, TrainingRun] = {NEUTRAL_CONVENTIONS: neutral}
    result.excluded = {key: [int(mask.sum()), int(mask.size)] for key, mask in excluded.items()}
    result.rounding = compare_runs(network.key, float32, neutral, start, neutral, tolerances, excluded=excluded)
    rounding = (neutral, float32)
    runs: dict[str, TrainingRun] = {}
    own: dict[str, TrainingRun] = {}
    with tempfile.TemporaryDirectory(prefix="harness-train-parity-") as name:
        folder = Path(name)
        save_weights(folder / "weights.npz", start)
        save_excluded(folder / EXCLUDED_FILE, excluded)
        np.savez(folder / "batches.npz", **{f"{kind}{i}": array for i, pair in enumerate(batches)
                                            for kind, array in zip(("images", "labels"), pair, strict=True)})
        for framework in frameworks:
            conventions = executor.discovery.frameworks[framework].framework.training_conventions
            if not relevant_departures(conventions, trained):
                conventions = NEUTRAL_CONVENTIONS
            if conventions not in references:
                references[conventions] = reference_run(trained, start, batches, conventions, excluded=excluded)
            outcome = _framework_run(framework, network, folder, steps, executor, threads=threads, device=device, seed=seed,
                                     timeout=timeout, excluded=bool(excluded))
            if isinstance(outcome, str):
                result.failures[framework] = outcome
                continue
            runs[framework] = outcome
            own[framework] = dataclasses.replace(references[conventions], name=_reference_name(references[conventions]))
            if conventions != NEUTRAL_CONVENTIONS:
                result.departures[framework] = compare_runs(network.key, own[framework], neutral, start, neutral, tolerances,
                                                            excluded=excluded)
    for framework, run in runs.items():
        result.pairs.append(compare_runs(network.key, run, own[framework], start, own[framework], tolerances,
                                         rounding=rounding, excluded=excluded))
    for a, b in itertools.combinations(runs, 2):
        result.pairs.append(compare_runs(network.key, runs[a], runs[b], start, own[b], tolerances, (own[a], own[b]),
                                         rounding, excluded))
    return result
