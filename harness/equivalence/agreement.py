"""Agreement: a framework's per-layer counts against the oracle's (first mismatch first), and the
batch order of runs that should have trained on the same batches."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from harness.neutral.oracle import Analysis

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


def batch_order_difference(first_batches: dict[str, list[str]], orders: dict[str, str | None]) -> str | None:
    """None when every run trained on the same batches in the same order, else what differs: the
    first step whose batch differs (from the recorded first steps) or that the whole order does."""
    names = list(first_batches)
    for step in range(max((len(b) for b in first_batches.values()), default=0)):
        digests = {name: batches[step] if step < len(batches) else None for name, batches in first_batches.items()}
        if len(set(digests.values())) > 1:
            return f"the batches differ from step {step + 1} on ({', '.join(names)})"
    if len(set(orders.values())) > 1:
        return f"the batch order over all steps differs ({', '.join(names)})"
    return None
