"""Parameter agreement: a framework's per-layer counts against the oracle's, first mismatch first."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from harness.oracle import Analysis

Counts = Mapping[str, tuple[int, int]]
"""Layer name -> (trainable, non-trainable), as a framework reports them."""


@dataclass(frozen=True)
class LayerMismatch:
    """One layer whose parameters differ; ``type`` is None for a layer the network does not have."""

    layer: str
    type: str | None
    oracle: tuple[int, int]
    framework: tuple[int, int]

    def describe(self, framework: str) -> str:
        """``layer 'conv_2' (conv): torch 456 trainable + 0 non-trainable, oracle 460 + 0``."""
        if self.type is None:
            return (f"layer '{self.layer}' is not in the network, but {framework} reports "
                    f"{self.framework[0]:,} trainable + {self.framework[1]:,} non-trainable parameters for it")
        return (f"layer '{self.layer}' ({self.type}): {framework} {self.framework[0]:,} trainable + "
                f"{self.framework[1]:,} non-trainable, oracle {self.oracle[0]:,} + {self.oracle[1]:,}")

    def as_dict(self) -> dict[str, object]:
        return {
            "layer": self.layer, "type": self.type,
            "oracle": {"trainable": self.oracle[0], "non_trainable": self.oracle[1]},
            "framework": {"trainable": self.framework[0], "non_trainable": self.framework[1]},
        }


def layer_mismatches(analysis: Analysis, counts: Counts) -> list[LayerMismatch]:
    """Every layer whose counts differ, in the network's order, then layers the network lacks.

    A layer the framework does not report counts as having no parameters.
    """
    mismatches = []
    for layer in analysis.layers:
        oracle = (layer.trainable, layer.non_trainable)
        reported = tuple(counts.get(layer.name, (0, 0)))
        if reported != oracle:
            mismatches.append(LayerMismatch(layer.name, layer.type, oracle, reported))  # type: ignore[arg-type]
    known = {layer.name for layer in analysis.layers}
    for name, reported in counts.items():
        if name not in known and tuple(reported) != (0, 0):
            mismatches.append(LayerMismatch(name, None, (0, 0), tuple(reported)))  # type: ignore[arg-type]
    return mismatches
