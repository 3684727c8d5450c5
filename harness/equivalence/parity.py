"""Comparing layer outputs: each framework against the numpy reference and against each other.

A layer *diverges* when its outputs differ by more than ``tolerance`` times the layer's scale,
``max(1, max |reference output|)``, so that large activations deep in a network are held to the
same float32 precision as small ones. The logits are held to ``tolerance`` in absolute terms, as
the parity criterion states (max abs diff <= 1e-4 in float32 by default).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from harness.results import ParityEntry

REFERENCE = "reference"
DEFAULT_TOLERANCE = 1e-4


@dataclass(frozen=True)
class LayerDiff:
    """How far two frameworks' outputs of one layer are apart."""

    layer: str
    max_abs: float
    max_rel: float
    scale: float
    diverged: bool


@dataclass(frozen=True)
class PairResult:
    """One pair of frameworks (or a framework and the reference) on one network and input size."""

    network: str
    input_shape: list[int]
    a: str
    b: str
    max_abs: float
    max_rel: float
    tolerance: float
    first_divergent_layer: str | None
    layers: list[LayerDiff]

    @property
    def passed(self) -> bool:
        return self.max_abs <= self.tolerance and self.first_divergent_layer is None

    def as_dict(self, per_layer: bool = False) -> dict[str, Any]:
        data = asdict(self)
        data["passed"] = self.passed
        if not per_layer:
            data.pop("layers")
        return data

    def entry(self) -> ParityEntry:
        """The pair as a run's results keep it (no per-layer differences)."""
        return ParityEntry.model_validate(self.as_dict())


def diff(layer: str, a: np.ndarray, b: np.ndarray, tolerance: float, scale: float | None = None) -> LayerDiff:
    """The difference of two outputs of one layer (shapes must match)."""
    if a.shape != b.shape:
        return LayerDiff(layer, float("inf"), float("inf"), 1.0, True)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    delta = np.abs(a64 - b64)
    magnitude = np.maximum(np.abs(a64), np.abs(b64))
    max_abs = float(delta.max()) if delta.size else 0.0
    max_rel = float((delta / np.maximum(magnitude, 1e-12)).max()) if delta.size else 0.0
    scale = max(1.0, float(magnitude.max()) if magnitude.size else 1.0) if scale is None else scale
    return LayerDiff(layer, max_abs, max_rel, scale, not np.isfinite(max_abs) or max_abs > tolerance * scale)


def compare(
    network: str,
    input_shape: list[int],
    names: tuple[str, str],
    outputs_a: dict[str, np.ndarray],
    outputs_b: dict[str, np.ndarray],
    logits_layer: str,
    tolerance: float = DEFAULT_TOLERANCE,
) -> PairResult:
    """Compare two sets of layer outputs (in execution order); name the first divergent layer."""
    layers = [diff(name, outputs_a[name], outputs_b[name], tolerance) for name in outputs_a if name in outputs_b]
    missing = [name for name in outputs_a if name not in outputs_b]
    first = next((d.layer for d in layers if d.diverged), missing[0] if missing else None)
    logits = diff(logits_layer, outputs_a[logits_layer], outputs_b[logits_layer], tolerance, scale=1.0)
    if logits.diverged and first is None:
        first = logits_layer
    return PairResult(network, input_shape, names[0], names[1], logits.max_abs, logits.max_rel, tolerance, first, layers)
