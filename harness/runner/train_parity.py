"""Training parity: the same weights, the same batches, N steps of the spec's optimizer, compared.

Every framework starts from the same seeded neutral weights and runs N training steps on the same
N seeded batches (synthetic images in [0, 1] and labels; the harness draws them, so the order is
the same by construction and is checked: each worker reports a digest of every batch it trained
on). Dropout is *off* in every framework and in the reference (rate 0: random masks cannot be
shared), batch norm runs on batch statistics and updates its moving statistics.

The numpy reference (:mod:`harness.equivalence.reference_train`) trains the same way. A framework is compared
with the reference run with *its declared* departures (:class:`harness.framework.TrainingConventions`,
e.g. PyTorch's unbiased BN moving variance), and the size of each departure's effect (that
reference against the neutral one) is stated next to it; two frameworks are compared with each
other allowing exactly the difference their declared departures make in the reference.

Every framework trains twice, each in a worker of its own: in float64 and in float32. Every run,
the reference's included, uses the spec's float hyperparameters rounded to float32 (Keras' Adam
bias correction, Paddle's optimizers and batch norm hold them in float32; a value float32 holds
exactly is the same everywhere), stated in the output.

* **float64, the exact check.** Float64 rounding cannot hide a difference nor fake one within N
  steps, even where training amplifies rounding (toy_cnn_224: float32 rounding alone moves its
  loss by 0.36 within 10 steps; in float64 the frameworks agree with the reference to 2e-11). Per
  step the losses and, per tensor, the norm of how far training has moved it are compared; after
  the last step every tensor, BN moving statistics included, at :data:`FLOAT64_TOLERANCES`. A
  framework that cannot train in float64 (:attr:`Framework.float64_unavailable`) is named, with
  its reason, and checked in float32 alone.
* **float32, what benchmarks run.** The losses are compared at ``tolerances`` plus
  :data:`ROUNDING_FACTOR` times what float32 rounding does to the reference's, on the steps float32
  rounding leaves predictable (:func:`harness.equivalence.train_compare.predictable_steps`: the reference's
  float32 loss stays within the tolerance of its float64 one). Tensors are shown, not judged: where
  Adam normalises a gradient that cancels to rounding noise (a conv bias that batch norm cancels,
  a nearly dead ReLU unit), one rounding decides a full step of that element, so the float32
  tensors of two correct frameworks can part for good (E5f: one filter of PaddlePaddle's first
  conv, at step 9).

Tolerances grow linearly with the step (:class:`Tolerances`); the first step and layer beyond them
are named.
"""

from __future__ import annotations

import dataclasses
import itertools
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness.framework import NEUTRAL_CONVENTIONS, Framework, NeutralWeights, TrainingConventions
from harness.equivalence.parity import REFERENCE
from harness.equivalence.reference_train import ReferenceTrainer
from harness.runner.executor import ChildOutcome, Executor, run_all
from harness.runner.parity import input_sizes
from harness.runner.protocol import ResolvedNetwork, TrainParityRequest, TrainParityResult
from harness.runner.train_parity_task import (
    batch_digest, float_fields, relevant_departures, weight_changes, with_float32_hyperparameters, without_dropout,
)
from harness.spec import Network
from harness.equivalence.train_compare import (
    FLOAT64_TOLERANCES, ROUNDING_FACTOR, TOLERANCES, Tolerances, TrainingRun, TrainPair, compare_runs, predictable_steps,
)
from harness.neutral.weights import initial_weights, load_weights, save_weights

DEFAULT_STEPS = 10
DEFAULT_BATCH = 4
RUN_STEPS = 5
"""Steps ``harness run`` checks with ``--init shared`` (first-steps agreement, in the report)."""
DATA_STREAM = 0x7A1
"""Mixed into the seed of the training-parity batches (distinct from the weights' stream)."""


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


@dataclass
class NetworkTraining:
    """Training parity of one network: every pair in float64 and in float32, the departures'
    effects, failures."""

    network: str
    steps: int
    batch: int
    input_shape: list[int]
    pairs: list[TrainPair] = field(default_factory=list)
    """The float64 pairs (the exact check), then the float32 ones."""
    departures: dict[str, TrainPair] = field(default_factory=dict)
    """Framework -> its declared-departures reference against the neutral reference (the effect)."""
    failures: dict[str, str] = field(default_factory=dict)
    data: str = ""
    hyperparameters: str = ""
    """The float hyperparameters as every run used them (rounded to float32), in words."""
    rounding: TrainPair | None = None
    """The reference in float32 against float64: how far rounding alone carries this training."""
    predictable: int = 0
    """The float32 steps whose losses rounding alone leaves within the tolerances (judged)."""
    float64_unavailable: dict[str, str] = field(default_factory=dict)
    """Framework -> why it could not run in float64 (checked in float32 alone)."""

    @property
    def passed(self) -> bool:
        return not self.failures and all(pair.passed for pair in self.pairs)

    def float32_judged(self) -> str:
        """What the float32 runs were judged on, and why not more, in words."""
        judged = (f"the losses of all {self.steps} steps" if self.predictable >= self.steps
                  else f"the losses of steps 1-{self.predictable}" if self.predictable > 1
                  else "step 1's loss" if self.predictable else "nothing")
        text = (f"float32 runs: {judged} judged; their tensors are shown, not judged (where Adam normalises a gradient "
                "that cancels to rounding noise, one rounding decides a full step of that element)")
        if self.predictable < self.steps:
            text += (f"; float32 rounding alone takes the reference's loss beyond the tolerance at step {self.predictable + 1}, "
                     "so later float32 losses are shown, not judged")
        return text

    def notes(self) -> list[str]:
        """What a reader must know beside the table: the hyperparameters, what float32 is judged on,
        frameworks not run in float64."""
        return [self.hyperparameters, self.float32_judged(),
                *(f"{name} did not run in float64 ({reason}); it is checked in float32 alone"
                  for name, reason in self.float64_unavailable.items())]

    def as_dict(self, per_layer: bool = False) -> dict[str, Any]:
        return {"network": self.network, "steps": self.steps, "batch": self.batch, "input_shape": self.input_shape,
                "passed": self.passed, "data": self.data, "dropout": "off (rate 0 in every framework and the reference)",
                "hyperparameters": self.hyperparameters,
                "tolerances": {"float64": FLOAT64_TOLERANCES.describe(), "float32": TOLERANCES.describe(tensors=False)},
                "failures": self.failures, "float64_unavailable": self.float64_unavailable,
                "departures": {name: pair.as_dict() for name, pair in self.departures.items()},
                "float32_rounding": None if self.rounding is None else self.rounding.as_dict(),
                "float32_judged": self.float32_judged(), "rounding_factor": ROUNDING_FACTOR,
                "pairs": [pair.as_dict(per_layer) for pair in self.pairs]}


def describe_hyperparameters(network: Network) -> str:
    """The float hyperparameters every run used, rounded to float32 (:func:`with_float32_hyperparameters`)."""
    optimizer = network.spec.train.optimizer
    values = {f"{optimizer.name} {name}": value for name, value in float_fields(optimizer).items()}
    values |= {f"{node.name} {name}": value for node in network.walk() for name, value in float_fields(node.layer).items()
               if not (node.type == "dropout" and name == "rate")}
    shown = ", ".join(f"{key} {value!r}" for key, value in values.items())
    return (f"every run uses the float hyperparameters rounded to float32, the values float32 frameworks hold (Keras' Adam "
            f"bias correction, Paddle's optimizers and batch norm keep them in float32): {shown}")


def _reference_name(run: TrainingRun) -> str:
    departures = ", ".join(f"{k}={v}" for k, v in sorted(run.conventions.items()))
    return REFERENCE if not departures else f"{REFERENCE} ({departures})"


def _framework_request(name: str, network: Network, folder: Path, steps: int, *, threads: int, device: str, seed: int,
                       dtype: str) -> TrainParityRequest:
    return TrainParityRequest(framework=name, device=device, threads=threads, seed=seed, network=ResolvedNetwork.of(network),
                              weights=str(folder / "weights.npz"), batches=str(folder / "batches.npz"), steps=steps,
                              output=str(folder / f"{name}-{dtype}-trained.npz"), dtype=dtype)  # type: ignore[arg-type]


def _run_label(request: TrainParityRequest) -> str:
    """``torch`` for the float32 run, ``torch (float64)`` for the other."""
    return request.framework if request.dtype == "float32" else f"{request.framework} ({request.dtype})"


def _framework_run(request: TrainParityRequest, outcome: ChildOutcome) -> TrainingRun | str:
    """The run a framework's worker reported, or why there is none."""
    if not isinstance(outcome.result, TrainParityResult):
        return outcome.reason()
    records = outcome.result.steps
    return TrainingRun(_run_label(request), [r.loss for r in records], [r.batch for r in records],
                       [r.change_norm for r in records], load_weights(request.output), outcome.result.conventions)


def _conventions(framework: type[Framework], network: Network) -> TrainingConventions:
    conventions = framework.training_conventions
    return conventions if relevant_departures(conventions, network) else NEUTRAL_CONVENTIONS


def _compare_all(network: str, runs: dict[str, TrainingRun], own: dict[str, TrainingRun], start: NeutralWeights,
                 tolerances: Tolerances, **options: Any) -> list[TrainPair]:
    """Every run against its own reference, then every pair of runs."""
    pairs = [compare_runs(network, run, own[name], start, own[name], tolerances, **options) for name, run in runs.items()]
    for a, b in itertools.combinations(runs, 2):
        pairs.append(compare_runs(network, runs[a], runs[b], start, own[b], tolerances, (own[a], own[b]), **options))
    return pairs


def check_training(network: Network, frameworks: Mapping[str, type[Framework]], executor: Executor, *, steps: int = DEFAULT_STEPS,
                   batch: int = DEFAULT_BATCH,
                   threads: int, device: str = "cpu", seed: int = 0, timeout: float | None = None,
                   size: tuple[int, int] | None = None) -> NetworkTraining:
    """Train ``network`` ``steps`` steps in every framework (name -> class), in float64 (where it can)
    and in float32, and in the reference, and compare: the float64 runs on every step and tensor at
    :data:`FLOAT64_TOLERANCES`, the float32 runs on the losses of the steps float32 rounding leaves
    predictable at :data:`TOLERANCES`."""
    trained = with_float32_hyperparameters(without_dropout(network))
    batches = training_batches(trained, steps, batch, seed, size)
    shape = list(batches[0][0].shape[1:])
    result = NetworkTraining(network.key, steps, batch, shape, hyperparameters=describe_hyperparameters(trained),
                             data=f"{steps} seeded synthetic batches of {batch} images {'x'.join(map(str, shape))} and labels")
    start = initial_weights(trained, seed)
    neutral = reference_run(trained, start, batches)
    float32 = dataclasses.replace(reference_run(trained, start, batches, dtype=np.float32), name=f"{REFERENCE} in float32")
    result.rounding = compare_runs(network.key, float32, neutral, start, neutral)
    result.predictable = predictable_steps(float32, neutral)
    references: dict[TrainingConventions, TrainingRun] = {NEUTRAL_CONVENTIONS: neutral}
    runs: dict[str, dict[str, TrainingRun]] = {"float64": {}, "float32": {}}
    own: dict[str, TrainingRun] = {}
    with tempfile.TemporaryDirectory(prefix="harness-train-parity-") as name:
        folder = Path(name)
        save_weights(folder / "weights.npz", start)
        np.savez(folder / "batches.npz", **{f"{kind}{i}": array for i, pair in enumerate(batches)
                                            for kind, array in zip(("images", "labels"), pair, strict=True)})
        requests = []
        for framework, cls in frameworks.items():
            conventions = _conventions(cls, trained)
            if conventions not in references:
                references[conventions] = reference_run(trained, start, batches, conventions)
            own[framework] = dataclasses.replace(references[conventions], name=_reference_name(references[conventions]))
            if conventions != NEUTRAL_CONVENTIONS:
                result.departures[framework] = compare_runs(network.key, own[framework], neutral, start, neutral,
                                                            FLOAT64_TOLERANCES, dtype="float64")
            if cls.float64_unavailable is not None:
                result.float64_unavailable[framework] = cls.float64_unavailable
            requests += [_framework_request(framework, network, folder, steps, threads=threads, device=device, seed=seed,
                                            dtype=dtype)
                         for dtype in (("float64", "float32") if cls.float64_unavailable is None else ("float32",))]
        for request, outcome in zip(requests, run_all(executor, requests, timeout=timeout), strict=True):
            run = _framework_run(request, outcome)
            if isinstance(run, str):
                result.failures[_run_label(request)] = run
            else:
                runs[request.dtype][request.framework] = run
    result.pairs = _compare_all(network.key, runs["float64"], own, start, FLOAT64_TOLERANCES, dtype="float64")
    result.pairs += _compare_all(network.key, runs["float32"], own, start, TOLERANCES, rounding=(neutral, float32),
                                 judged=result.predictable)
    return result
