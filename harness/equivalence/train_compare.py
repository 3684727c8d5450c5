"""Comparing two training runs step by step: losses, how far each tensor moved, the final tensors.

A run is N steps of one framework (or of the numpy reference) from the same weights on the same
batches. Two runs agree when, at every step, they trained on the same batch, their losses and
every tensor's distance from the start agree within :class:`Tolerances` (which grow with the
step), plus what declared departures and float32 rounding explain; and after the last step every
tensor agrees. The first step and layer that do not are named.

Float32 runs are judged on their losses only, and only on the steps float32 rounding leaves
predictable (:func:`predictable_steps`): where Adam normalises a gradient that cancels to rounding
noise (a conv bias that batch norm cancels, a ReLU unit that is nearly dead), one rounding decides
a full-size step of that element, so float32 tensors of two correct frameworks can part for good.
The float64 runs judge every tensor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.framework import NeutralWeights
from harness.results import TrainParityEntry


@dataclass(frozen=True)
class Tolerances:
    """What still counts as the same training, after ``k`` steps (stated in the output).

    * a loss: ``|a - b| <= loss * k * max(1, |b|)``;
    * a tensor: ``||a - b|| <= weights * k * scale``, where ``scale`` is how far training has moved
      the tensor in the reference (``||w_k - w_0||``), or ``1e-4 ||w_0||`` if that is larger (a
      tensor that barely moves).
    """

    loss: float = 5e-6
    weights: float = 1e-4

    def describe(self, tensors: bool = True) -> str:
        loss = f"loss |a-b| <= {self.loss:g} x step x max(1, |loss|)"
        return loss if not tensors else (f"{loss}; each tensor ||a-b|| <= {self.weights:g} x step x ||w_step - w_0|| "
                                         "(floor 1e-4 ||w_0||)")

    def loss_allowed(self, step: int, loss: float) -> float:
        """The loss difference allowed at ``step`` (from 1) for a reference loss ``loss``."""
        return self.loss * step * max(1.0, abs(loss))


TOLERANCES = Tolerances()
"""The float32 runs' tolerances (training parity judges their losses only; the conformance kit's
few steps on small networks, every tensor)."""
FLOAT64_TOLERANCES = Tolerances(loss=1e-9, weights=1e-5)
"""The float64 runs' tolerances: float64 rounding leaves chaotic training predictable for far longer
than N steps, so these are tight (measured on toy_cnn_224 after 10 steps: losses within 2e-11,
tensors within 4e-7 of their change)."""
ROUNDING_FACTOR = 10.0
"""How many times the float32-vs-float64 loss difference of the reference is allowed on top of the
float32 tolerances."""


@dataclass
class TrainingRun:
    """One framework's (or the reference's) N steps: losses, batches, weight changes, final weights."""

    name: str
    losses: list[float]
    batches: list[str]
    changes: list[dict[str, float]]
    final: NeutralWeights
    conventions: dict[str, str] = field(default_factory=dict)


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
    dtype: str = "float32"
    """What the frameworks computed in (the reference runs in float64 against both)."""
    judged: int | None = None
    """Float32: the steps whose losses were judged (tensors are shown, not judged). None: every
    step's loss and tensors, and the final tensors, were judged."""

    @property
    def passed(self) -> bool:
        return self.first_divergence is None

    def judged_steps(self) -> str:
        """What was judged, in words."""
        if self.judged is None:
            return f"all {self.steps} steps"
        if self.judged == 0:
            return "nothing"
        if self.judged >= self.steps:
            return f"losses, all {self.steps} steps"
        return "loss, step 1" if self.judged == 1 else f"losses, steps 1-{self.judged}"

    def as_dict(self, per_layer: bool = False) -> dict[str, Any]:
        data = {"network": self.network, "dtype": self.dtype, "a": self.a, "b": self.b, "steps": self.steps,
                "judged": self.judged_steps(),
                "max_loss_diff": self.max_loss_diff, "max_weight_diff": self.max_weight_diff,
                "first_divergence": None if self.first_divergence is None else self.first_divergence.describe(),
                "first_divergent_step": None if self.first_divergence is None else self.first_divergence.step,
                "first_divergent_layer": None if self.first_divergence is None else self.first_divergence.what,
                "explained": self.explained, "passed": self.passed}
        if per_layer:
            data["layers"] = self.layers
        return data

    def compact(self) -> TrainParityEntry:
        """The pair as a run's results keep it: the columns of the report's training-parity table."""
        return TrainParityEntry.model_validate(self.as_dict())


def _norm(array: np.ndarray) -> float:
    return float(np.linalg.norm(np.asarray(array, dtype=np.float64)))


def _scales(start: NeutralWeights, reference: TrainingRun) -> dict[str, list[float]]:
    """Per tensor and step, the scale its difference is measured against."""
    floors = {f"{layer}/{name}": 1e-4 * _norm(a) for layer, t in start.items() for name, a in t.items()}
    return {key: [max(step[key], floor, 1e-12) for step in reference.changes] for key, floor in floors.items()}


def _final_differences(a: TrainingRun, b: TrainingRun, scales: dict[str, list[float]]) -> dict[str, float]:
    return {f"{layer}/{name}": _norm(np.asarray(a.final[layer][name], np.float64) - np.asarray(array, np.float64))
            / scales[f"{layer}/{name}"][-1] for layer, tensors in b.final.items() for name, array in tensors.items()}


def _allowed_differences(x: TrainingRun, y: TrainingRun, scales: dict[str, list[float]], factor: float,
                         ) -> tuple[list[float], list[dict[str, float]], dict[str, float]]:
    """``factor`` times how far two reference runs are apart: per step's loss and tensor change, and per final tensor."""
    losses = [factor * abs(p - q) for p, q in zip(x.losses, y.losses, strict=True)]
    changes = [{key: factor * abs(p[key] - q[key]) for key in scales} for p, q in zip(x.changes, y.changes, strict=True)]
    final = {key: factor * value * scales[key][-1] for key, value in _final_differences(x, y, scales).items()}
    return losses, changes, final


def compare_runs(network: str, a: TrainingRun, b: TrainingRun, start: NeutralWeights, reference: TrainingRun,
                 tolerances: Tolerances = TOLERANCES, departures: tuple[TrainingRun, TrainingRun] | None = None,
                 rounding: tuple[TrainingRun, TrainingRun] | None = None, *, judged: int | None = None,
                 dtype: str = "float32") -> TrainPair:
    """Compare two runs step by step and after the last step. ``reference`` gives the scales;
    ``departures`` (the references with each run's declared departures) the difference those
    explain; ``rounding`` (the reference in float64 and in float32) how far float32 rounding alone
    carries this network's training, allowed :data:`ROUNDING_FACTOR` times over.

    ``judged=None`` judges every step's loss and tensors and the final tensors; a number judges the
    losses of that many leading steps only (float32 runs), the tensors' differences are still reported."""
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
    for step in range(steps if judged is None else min(judged, steps)):
        number = step + 1
        if len(a.batches) <= step or len(b.batches) <= step or a.batches[step] != b.batches[step]:
            first = Divergence(number, "batch (the runs trained on different batches)", 1.0, 0.0)
            break
        loss_diff = abs(a.losses[step] - b.losses[step])
        allowed = tolerances.loss_allowed(number, b.losses[step]) + extra_loss[step]
        if not np.isfinite(loss_diff) or loss_diff > allowed:
            first = Divergence(number, "loss", loss_diff, allowed)
            break
        for key, scale in scales.items() if judged is None else ():
            change_diff = abs(a.changes[step][key] - b.changes[step][key])
            allowed = tolerances.weights * number * scale[step] + extra_change[step][key]
            if not np.isfinite(change_diff) or change_diff > allowed:
                first = Divergence(number, key, change_diff, allowed)
                break
        if first is not None:
            break
    layers = _final_differences(a, b, scales)
    if first is None and judged is None:
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
                     first, explained, layers, dtype, None if judged is None else min(judged, steps))


def predictable_steps(float32: TrainingRun, float64: TrainingRun, tolerances: Tolerances = TOLERANCES) -> int:
    """How many leading steps float32 rounding alone leaves within the loss tolerances: ``float32``
    and ``float64`` are the reference run in each. Beyond them a float32 run's difference says more
    about rounding than about the framework, so it is shown, not judged."""
    for step, (rounded, exact) in enumerate(zip(float32.losses, float64.losses, strict=True)):
        if abs(rounded - exact) > tolerances.loss_allowed(step + 1, exact):
            return step
    return len(float64.losses)
