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
float64, stated in the output: near zero for most networks, large where Adam normalises gradients
that batch norm cancels to about epsilon); the first step and layer beyond that are named.
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
from harness.parity_run import input_sizes
from harness.plugins import framework_class
from harness.reference_train import ReferenceTrainer
from harness.runner.child import run_child
from harness.spec import Network, Node
from harness.spec.network import trace
from harness.weights import initial_weights, load_weights, save_weights

DEFAULT_STEPS = 10
DEFAULT_BATCH = 4
RUN_STEPS = 5
"""Steps ``harness run`` checks with ``--init shared`` (first-steps agreement, in the report)."""
DATA_STREAM = 0x7A1
"""Mixed into the seed of the training-parity batches (distinct from the weights' stream)."""


@dataclass(frozen=True)
class Tolerances:
    """What still counts as the same training, after ``k`` steps (stated in the output).

    * a loss: ``|a - b| <= loss * k * max(1, |b|)``;
    * a tensor: ``||a - b|| <= weights * k * scale``, where ``scale`` is how far training has moved
      the tensor in the reference (``||w_k - w_0||``), or ``1e-4 ||w_0||`` if that is larger (float32
      rounding of a tensor that barely moves).
    """

    loss: float = 5e-6
    weights: float = 1e-4

    def describe(self) -> str:
        return (f"loss |a-b| <= {self.loss:g} x step x max(1, |loss|); each tensor ||a-b|| <= {self.weights:g} x step "
                "x ||w_step - w_0|| (floor 1e-4 ||w_0||)")


TOLERANCES = Tolerances()
ROUNDING_FACTOR = 10.0
"""How many times the float32-vs-float64 difference of the reference is allowed on top of the
tolerances: a network whose training amplifies rounding (Adam on a gradient that batch norm
cancels to about its epsilon) cannot be held to closer agreement than its own float32 run."""


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


def weight_changes(start: NeutralWeights, now: NeutralWeights) -> dict[str, float]:
    """Per tensor (``layer/tensor``), the L2 norm of ``now - start`` (float64)."""
    return {
        f"{layer}/{name}": float(np.linalg.norm(np.asarray(now[layer][name], dtype=np.float64) - array.astype(np.float64)))
        for layer, tensors in start.items() for name, array in tensors.items()
    }


def relevant_departures(conventions: TrainingConventions, network: Network) -> dict[str, str]:
    """The declared departures that can change how ``network`` trains (its optimizer, its layers)."""
    optimizer = network.spec.train.optimizer.name
    applies = {"adam_epsilon": optimizer == "adam", "rmsprop_epsilon": optimizer == "rmsprop",
               "bn_moving_variance": any(node.type == "batch_norm" for node in network.walk())}
    return {name: value for name, value in conventions.departures().items() if applies[name]}


@dataclass
class TrainingRun:
    """One framework's (or the reference's) N steps: losses, batches, weight changes, final weights."""

    name: str
    losses: list[float]
    batches: list[str]
    changes: list[dict[str, float]]
    final: NeutralWeights
    conventions: dict[str, str] = field(default_factory=dict)


def reference_run(network: Network, weights: NeutralWeights, batches: list[tuple[np.ndarray, np.ndarray]],
                  conventions: TrainingConventions = NEUTRAL_CONVENTIONS, dtype: type[np.floating] = np.float64) -> TrainingRun:
    """The numpy reference's N steps with ``conventions``, computed in ``dtype``."""
    trainer = ReferenceTrainer(network, weights, network.spec.train.optimizer, conventions, dtype=dtype)
    losses, digests, changes = [], [], []
    for images, labels in batches:
        losses.append(trainer.step(images, labels)[0])
        digests.append(batch_digest(images, labels))
        changes.append(weight_changes(weights, trainer.weights))
    return TrainingRun(REFERENCE, losses, digests, changes, trainer.export(), relevant_departures(conventions, network))


def framework_run(framework: Framework, network: Network, weights: NeutralWeights,
                  batches: list[tuple[np.ndarray, np.ndarray]]) -> TrainingRun:
    """``framework``'s N steps in this process: build, load ``weights``, ``train_step`` per batch."""
    model = framework.build(network)
    framework.load_weights(model, weights)
    trainer = framework.prepare_training(model, network.spec.train)
    losses, digests, changes = [], [], []
    for images, labels in batches:
        losses.append(framework.train_step(trainer, images, labels).loss)
        digests.append(batch_digest(images, labels))
        changes.append(weight_changes(weights, framework.export_weights(model)))
    conventions = relevant_departures(type(framework).training_conventions, network)
    return TrainingRun(framework.name, losses, digests, changes, framework.export_weights(model), conventions)


@dataclass(frozen=True)
class Divergence:
    """The first place two runs part: a step and what (``loss``, ``batch`` or ``layer/tensor``)."""

    step: int
    what: str
    difference: float
    allowed: float

    def describe(self) -> str:
        return f"step {self.step}, {self.what} (differs by {self.difference:.3g}, allowed {self.allowed:.3g})"


@dataclass
class TrainPair:
    """Two runs of one network compared step by step and after the last step."""

    network: str
    a: str
    b: str
    steps: int
    max_loss_diff: float
    max_weight_diff: float
    """The largest ``||a - b|| / scale`` of a tensor after the last step."""
    first_divergence: Divergence | None
    explained: dict[str, str] = field(default_factory=dict)
    """Declared departures that differ between the two, and the difference they make in the reference."""
    layers: dict[str, float] = field(default_factory=dict)
    """``layer/tensor`` -> ``||a - b|| / scale`` after the last step."""

    @property
    def passed(self) -> bool:
        return self.first_divergence is None

    def as_dict(self, per_layer: bool = False) -> dict[str, Any]:
        data = {"network": self.network, "a": self.a, "b": self.b, "steps": self.steps,
                "max_loss_diff": self.max_loss_diff, "max_weight_diff": self.max_weight_diff,
                "first_divergence": None if self.first_divergence is None else self.first_divergence.describe(),
                "first_divergent_step": None if self.first_divergence is None else self.first_divergence.step,
                "first_divergent_layer": None if self.first_divergence is None else self.first_divergence.what,
                "explained": self.explained, "passed": self.passed}
        if per_layer:
            data["layers"] = self.layers
        return data

    def compact(self) -> dict[str, Any]:
        """The columns of the run report's training-parity table."""
        data = self.as_dict()
        return {key: data[key] for key in ("network", "a", "b", "steps", "max_loss_diff", "max_weight_diff",
                                           "first_divergence", "passed")}


def _norm(array: np.ndarray) -> float:
    return float(np.linalg.norm(np.asarray(array, dtype=np.float64)))


def _scales(start: NeutralWeights, reference: TrainingRun) -> dict[str, list[float]]:
    """Per tensor and step, the scale its difference is measured against."""
    floors = {f"{layer}/{name}": 1e-4 * _norm(a) for layer, t in start.items() for name, a in t.items()}
    return {key: [max(step[key], floor, 1e-12) for step in reference.changes] for key, floor in floors.items()}


def _final_differences(a: TrainingRun, b: TrainingRun, scales: dict[str, list[float]]) -> dict[str, float]:
    return {
        f"{layer}/{name}": _norm(np.asarray(a.final[layer][name], np.float64) - np.asarray(array, np.float64))
        / scales[f"{layer}/{name}"][-1]
        for layer, tensors in b.final.items() for name, array in tensors.items()
    }


def _allowed_differences(x: TrainingRun, y: TrainingRun, scales: dict[str, list[float]], factor: float,
                         ) -> tuple[list[float], list[dict[str, float]], dict[str, float]]:
    """``factor`` times how far two reference runs are apart: per step's loss and tensor change, and per final tensor."""
    losses = [factor * abs(p - q) for p, q in zip(x.losses, y.losses, strict=True)]
    changes = [{key: factor * abs(p[key] - q[key]) for key in scales} for p, q in zip(x.changes, y.changes, strict=True)]
    final = {key: factor * value * scales[key][-1] for key, value in _final_differences(x, y, scales).items()}
    return losses, changes, final


def compare_runs(network: str, a: TrainingRun, b: TrainingRun, start: NeutralWeights, reference: TrainingRun,
                 tolerances: Tolerances = TOLERANCES, departures: tuple[TrainingRun, TrainingRun] | None = None,
                 rounding: tuple[TrainingRun, TrainingRun] | None = None) -> TrainPair:
    """Compare two runs step by step and after the last step. ``reference`` gives the scales;
    ``departures`` (the references with each run's declared departures) the difference those
    explain; ``rounding`` (the reference in float64 and in float32) how far float32 rounding alone
    carries this network's training, allowed :data:`ROUNDING_FACTOR` times over."""
    scales = _scales(start, reference)
    steps = len(reference.losses)
    extra_loss = [0.0] * steps
    extra_change = [dict.fromkeys(scales, 0.0) for _ in range(steps)]
    extra_final = dict.fromkeys(scales, 0.0)
    for pair, factor in ((departures, 1.0), (rounding, ROUNDING_FACTOR)):
        if pair is None:
            continue
        losses, changes, final = _allowed_differences(*pair, scales, factor)
        extra_loss = [p + q for p, q in zip(extra_loss, losses, strict=True)]
        extra_change = [{key: p[key] + q[key] for key in scales} for p, q in zip(extra_change, changes, strict=True)]
        extra_final = {key: extra_final[key] + final[key] for key in scales}
    first: Divergence | None = None
    for step in range(steps):
        number = step + 1
        if len(a.batches) <= step or len(b.batches) <= step or a.batches[step] != b.batches[step]:
            first = Divergence(number, "batch (the runs trained on different batches)", 1.0, 0.0)
            break
        loss_diff = abs(a.losses[step] - b.losses[step])
        allowed = tolerances.loss * number * max(1.0, abs(b.losses[step])) + extra_loss[step]
        if not np.isfinite(loss_diff) or loss_diff > allowed:
            first = Divergence(number, "loss", loss_diff, allowed)
            break
        for key, scale in scales.items():
            change_diff = abs(a.changes[step][key] - b.changes[step][key])
            allowed = tolerances.weights * number * scale[step] + extra_change[step][key]
            if not np.isfinite(change_diff) or change_diff > allowed:
                first = Divergence(number, key, change_diff, allowed)
                break
        if first is not None:
            break
    layers = _final_differences(a, b, scales)
    if first is None:
        for key, relative in layers.items():
            allowed = tolerances.weights * steps + extra_final[key] / scales[key][-1]
            if not np.isfinite(relative) or relative > allowed:
                first = Divergence(steps, f"{key} after the last step", relative, allowed)
                break
    loss_diffs = [abs(p - q) for p, q in zip(a.losses, b.losses, strict=False)]  # a failed run may stop early
    explained = {}
    if departures is not None:
        differing = sorted(set(departures[0].conventions.items()) ^ set(departures[1].conventions.items()))
        if differing:
            losses, _, final = _allowed_differences(*departures, scales, 1.0)
            explained = {"departures": ", ".join(f"{k}={v}" for k, v in differing),
                         "effect": f"losses up to {max(losses):.2e}, tensors up to "
                                   f"{max(v / scales[k][-1] for k, v in final.items()):.2e} of their change"}
    return TrainPair(network, a.name, b.name, steps, max(loss_diffs, default=0.0), max(layers.values(), default=0.0),
                     first, explained, layers)


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

    @property
    def passed(self) -> bool:
        return not self.failures and all(pair.passed for pair in self.pairs)

    def as_dict(self, per_layer: bool = False) -> dict[str, Any]:
        return {"network": self.network, "steps": self.steps, "batch": self.batch, "input_shape": self.input_shape,
                "passed": self.passed, "data": self.data, "dropout": "off (rate 0 in every framework and the reference)",
                "tolerances": TOLERANCES.describe(), "failures": self.failures,
                "departures": {name: pair.as_dict() for name, pair in self.departures.items()},
                "float32_rounding": None if self.rounding is None else self.rounding.as_dict(),
                "rounding_factor": ROUNDING_FACTOR,
                "pairs": [pair.as_dict(per_layer) for pair in self.pairs]}


def _reference_name(run: TrainingRun) -> str:
    departures = ", ".join(f"{k}={v}" for k, v in sorted(run.conventions.items()))
    return REFERENCE if not departures else f"{REFERENCE} ({departures})"


def _framework_run(name: str, network: Network, folder: Path, steps: int, *, threads: int, device: str, seed: int,
                   timeout: float | None) -> TrainingRun | str:
    output = folder / f"{name}-trained.npz"
    request = {"task": "train_parity", "framework": name, "spec": network.path, "variant": network.variant,
               "threads": threads, "device": device, "seed": seed, "weights": str(folder / "weights.npz"),
               "batches": str(folder / "batches.npz"), "steps": steps, "output": str(output)}
    outcome = run_child(request, threads=threads, timeout=timeout)
    if outcome.status != "ok":
        return f"{outcome.status}: {outcome.error or outcome.output_tail[-400:]}"
    records = outcome.result["steps"]
    return TrainingRun(name, [r["loss"] for r in records], [r["batch"] for r in records],
                       [r["change_norm"] for r in records], load_weights(output), outcome.result["conventions"])


def check_training(network: Network, frameworks: list[str], *, steps: int = DEFAULT_STEPS, batch: int = DEFAULT_BATCH,
                   threads: int, device: str = "cpu", seed: int = 0, timeout: float | None = None,
                   size: tuple[int, int] | None = None, tolerances: Tolerances = TOLERANCES) -> NetworkTraining:
    """Train ``network`` ``steps`` steps in every framework and in the reference, and compare."""
    trained = without_dropout(network)
    batches = training_batches(trained, steps, batch, seed, size)
    shape = list(batches[0][0].shape[1:])
    result = NetworkTraining(network.key, steps, batch, shape,
                             data=f"{steps} seeded synthetic batches of {batch} images {'x'.join(map(str, shape))} and labels")
    start = initial_weights(trained, seed)
    references: dict[TrainingConventions, TrainingRun] = {NEUTRAL_CONVENTIONS: reference_run(trained, start, batches)}
    neutral = references[NEUTRAL_CONVENTIONS]
    float32 = dataclasses.replace(reference_run(trained, start, batches, dtype=np.float32), name=f"{REFERENCE} in float32")
    result.rounding = compare_runs(network.key, float32, neutral, start, neutral, tolerances)
    rounding = (neutral, float32)
    runs: dict[str, TrainingRun] = {}
    own: dict[str, TrainingRun] = {}
    with tempfile.TemporaryDirectory(prefix="harness-train-parity-") as name:
        folder = Path(name)
        save_weights(folder / "weights.npz", start)
        np.savez(folder / "batches.npz", **{f"{kind}{i}": array for i, pair in enumerate(batches)
                                            for kind, array in zip(("images", "labels"), pair, strict=True)})
        for framework in frameworks:
            conventions = framework_class(framework).training_conventions
            if not relevant_departures(conventions, trained):
                conventions = NEUTRAL_CONVENTIONS
            if conventions not in references:
                references[conventions] = reference_run(trained, start, batches, conventions)
            outcome = _framework_run(framework, trained, folder, steps, threads=threads, device=device, seed=seed,
                                     timeout=timeout)
            if isinstance(outcome, str):
                result.failures[framework] = outcome
                continue
            runs[framework] = outcome
            own[framework] = dataclasses.replace(references[conventions], name=_reference_name(references[conventions]))
            if conventions != NEUTRAL_CONVENTIONS:
                result.departures[framework] = compare_runs(network.key, own[framework], neutral, start, neutral, tolerances)
    for framework, run in runs.items():
        result.pairs.append(compare_runs(network.key, run, own[framework], start, own[framework], tolerances,
                                         rounding=rounding))
    for a, b in itertools.combinations(runs, 2):
        result.pairs.append(compare_runs(network.key, runs[a], runs[b], start, own[b], tolerances, (own[a], own[b]),
                                         rounding))
    return result
