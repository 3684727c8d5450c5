"""Comparing two training runs step by step: losses, how far each tensor moved, the final tensors.

A run is N steps of one framework (or of the numpy reference) from the same weights on the same
batches. Two runs agree when, at every step, they trained on the same batch, their losses and
every tensor's distance from the start agree within :class:`Tolerances` (which grow with the
step), plus what declared departures and float32 rounding explain; and after the last step every
tensor agrees. The first step and layer that do not are named.

Elements that float32 rounding, not training, moves (:func:`rounding_driven`: a conv bias that
batch norm cancels exactly, whose float32 gradient is rounding noise that Adam normalises into a
full-size step) are left out of every comparison, counted and named; they are not compared with a
looser tolerance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.framework import NeutralWeights


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
NOISE_SHARE = 0.5
"""An element is moved by rounding, not training, when the reference run in float32 ends farther
from the float64 run than this share of the element's float64 change."""
ROUNDING_FACTOR = 10.0
"""How many times the float32-vs-float64 difference of the reference is allowed on top of the
tolerances: a network whose training amplifies rounding (Adam on a gradient that batch norm
cancels to about its epsilon) cannot be held to closer agreement than its own float32 run."""

Excluded = dict[str, np.ndarray]
"""``layer/tensor`` -> boolean array, True for each element left out of the comparisons."""


def rounding_driven(start: NeutralWeights, float64: TrainingRun, float32: TrainingRun) -> Excluded:
    """The elements float32 rounding moves by more than :data:`NOISE_SHARE` of what training moves
    them in float64 (only tensors that have any). Elements training does not move at all (in float64
    and float32 alike) stay in: they are compared, and must stay put in every framework."""
    excluded = {}
    for layer, tensors in start.items():
        for name, initial in tensors.items():
            origin = np.asarray(initial, np.float64)
            trained = np.asarray(float64.final[layer][name], np.float64) - origin
            rounded = np.asarray(float32.final[layer][name], np.float64) - origin
            mask = np.abs(rounded - trained) > NOISE_SHARE * np.abs(trained)
            if mask.any():
                excluded[f"{layer}/{name}"] = mask
    return excluded


def kept(key: str, array: np.ndarray, excluded: Excluded | None) -> np.ndarray:
    """``array`` (float64) without the elements ``excluded`` leaves out of tensor ``key``."""
    values = np.asarray(array, dtype=np.float64)
    return values[~excluded[key]] if excluded and key in excluded else values


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


def _scales(start: NeutralWeights, reference: TrainingRun, excluded: Excluded | None) -> dict[str, list[float]]:
    """Per tensor and step, the scale its difference is measured against."""
    floors = {f"{layer}/{name}": 1e-4 * _norm(kept(f"{layer}/{name}", a, excluded))
              for layer, t in start.items() for name, a in t.items()}
    return {key: [max(step[key], floor, 1e-12) for step in reference.changes] for key, floor in floors.items()}


def _final_differences(a: TrainingRun, b: TrainingRun, scales: dict[str, list[float]],
                       excluded: Excluded | None) -> dict[str, float]:
    differences = {}
    for layer, tensors in b.final.items():
        for name, array in tensors.items():
            key = f"{layer}/{name}"
            difference = np.asarray(a.final[layer][name], np.float64) - np.asarray(array, np.float64)
            differences[key] = _norm(kept(key, difference, excluded)) / scales[key][-1]
    return differences


def _allowed_differences(x: TrainingRun, y: TrainingRun, scales: dict[str, list[float]], factor: float,
                         excluded: Excluded | None) -> tuple[list[float], list[dict[str, float]], dict[str, float]]:
    """``factor`` times how far two reference runs are apart: per step's loss and tensor change, and per final tensor."""
    losses = [factor * abs(p - q) for p, q in zip(x.losses, y.losses, strict=True)]
    changes = [{key: factor * abs(p[key] - q[key]) for key in scales} for p, q in zip(x.changes, y.changes, strict=True)]
    final = {key: factor * value * scales[key][-1] for key, value in _final_differences(x, y, scales, excluded).items()}
    return losses, changes, final


def compare_runs(network: str, a: TrainingRun, b: TrainingRun, start: NeutralWeights, reference: TrainingRun,
                 tolerances: Tolerances = TOLERANCES, departures: tuple[TrainingRun, TrainingRun] | None = None,
                 rounding: tuple[TrainingRun, TrainingRun] | None = None, excluded: Excluded | None = None) -> TrainPair:
    """Compare two runs step by step and after the last step. ``reference`` gives the scales;
    ``departures`` (the references with each run's declared departures) the difference those
    explain; ``rounding`` (the reference in float64 and in float32) how far float32 rounding alone
    carries this network's training, allowed :data:`ROUNDING_FACTOR` times over. The runs' changes
    must leave out the elements ``excluded`` names (:func:`rounding_driven`); so do the final tensors."""
    scales = _scales(start, reference, excluded)
    steps = len(reference.losses)
    extra_loss = [0.0] * steps
    extra_change = [dict.fromkeys(scales, 0.0) for _ in range(steps)]
    extra_final = dict.fromkeys(scales, 0.0)
    for pair, factor in ((departures, 1.0), (rounding, ROUNDING_FACTOR)):
        if pair is None:
            continue
        losses, changes, final = _allowed_differences(*pair, scales, factor, excluded)
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
    layers = _final_differences(a, b, scales, excluded)
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
            losses, _, final = _allowed_differences(*departures, scales, 1.0, excluded)
            explained = {"departures": ", ".join(f"{k}={v}" for k, v in differing),
                         "effect": f"losses up to {max(losses):.2e}, tensors up to "
                                   f"{max(v / scales[k][-1] for k, v in final.items()):.2e} of their change"}
    return TrainPair(network, a.name, b.name, steps, max(loss_diffs, default=0.0), max(layers.values(), default=0.0),
                     first, explained, layers)
