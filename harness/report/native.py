"""Each framework's step time against its own native loop: is a slow framework the harness's doing?

The measurements are the committed ones, ``harness/report/native_anchors.json``, written by
``benchmarks/native_overhead.py --record`` (the harness's ``run`` and the framework's plain
training loop, ``benchmarks/native/``, on the same images, interleaved; harness step / native
step, median over rounds). The report does not measure anything itself: it quotes those figures
for the networks and frameworks they cover, and, where a framework's step is far slower than the
fastest framework's, says whether its own plain loop is as slow (then the harness is not the cause).
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harness.report.document import Block, Bullets, Details

if TYPE_CHECKING:
    from harness.report.model import RunView

ANCHORS = Path(__file__).with_name("native_anchors.json")
FAR_SLOWER = 1.5
"""A framework whose median step is at least this many times the fastest framework's is far slower."""
AS_SLOW = 1.10
"""Harness / native at most this: the framework's own loop is as slow, the harness adds nothing that matters."""


@dataclass(frozen=True)
class Anchor:
    """One committed measurement: a network in a framework and mode, harness against native."""

    network: str
    framework: str
    mode: str
    native: str
    """How the native side is written (``plain torch.nn loop``)."""
    harness_ms: float
    native_ms: float
    ratio: float
    """Harness / native: the median over the rounds of each round's ratio."""
    rounds: list[float]
    load: list[float]
    """The 1-minute load average during the rounds: lowest, highest."""
    measured: str
    """When and how: date, images, threads."""

    @property
    def key(self) -> tuple[str, str, str]:
        return self.network, self.framework, self.mode


def read_anchors(path: Path | None = None) -> dict[tuple[str, str, str], Anchor]:
    """The committed measurements (:data:`ANCHORS`, or ``path``) by (network, framework, mode); none
    when the file is absent or unreadable."""
    try:
        entries = json.loads((path or ANCHORS).read_text())["anchors"]
        return {anchor.key: anchor for anchor in (Anchor(**entry) for entry in entries)}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def write_anchors(anchors: list[Anchor], path: Path | None = None) -> None:
    """Record ``anchors`` (in :data:`ANCHORS`, or ``path``), replacing the earlier measurement of the
    same network, framework and mode."""
    merged = read_anchors(path) | {anchor.key: anchor for anchor in anchors}
    entries = [vars(merged[key]) for key in sorted(merged)]
    document = {"written_by": "benchmarks/native_overhead.py --record", "anchors": entries}
    (path or ANCHORS).write_text(json.dumps(document, indent=1) + "\n")


def possessive(name: str) -> str:
    """``keras'``, ``torch's``."""
    return f"{name}'" if name.endswith("s") else f"{name}'s"


def _ratio_text(anchor: Anchor) -> str:
    label = anchor.framework if anchor.mode == "eager" else f"{anchor.framework}:{anchor.mode}"
    return f"{label} {anchor.ratio:.2f}"


def _verdict(anchor: Anchor, factor: float) -> str:
    """Whether a step ``factor`` times the fastest framework's is the harness's doing, by its own loop's ratio."""
    if anchor.ratio <= AS_SLOW:
        return f"its own plain loop ({anchor.native}) is as slow (harness / native {anchor.ratio:.2f}): not the harness"
    measured = (f"the harness is {anchor.ratio:.2f}x its own plain loop ({anchor.native}; rounds "
                f"{min(anchor.rounds):.2f}-{max(anchor.rounds):.2f})")
    if factor / anchor.ratio >= FAR_SLOWER:
        return f"{measured}, so without it the step would still be {factor / anchor.ratio:.1f}x: mostly the framework"
    return f"{measured}: part of it is the harness"


def eager_steps(view: RunView, network: str) -> dict[str, float]:
    """Framework -> the median of its eager jobs' median step time (ms) on ``network``, where measured."""
    steps = {}
    for framework in view.frameworks:
        medians = [job.step_time.median_ms for job in view.jobs_of(network) if job.framework == framework
                   and job.mode == "eager" and job.status == "ok" and job.step_time is not None]
        if medians and statistics.median(medians) > 0:
            steps[framework] = statistics.median(medians)
    return steps


def native_lines(view: RunView, anchors: dict[tuple[str, str, str], Anchor] | None = None,
                 ) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Per network the committed anchors cover: its line of each framework's harness / native step
    ratio (in each mode the run has), and a line for every framework whose eager step is far slower
    than the fastest framework's, saying whether its own plain loop is as slow."""
    anchors = read_anchors() if anchors is None else anchors
    ratios: dict[str, list[str]] = {}
    slower: dict[str, list[str]] = {}
    for network in view.networks:
        covered = [anchor for framework in view.frameworks for mode in view.modes
                   if (anchor := anchors.get((network, framework, mode)))]
        if not covered:
            continue
        dates = sorted({anchor.measured for anchor in covered})
        loads = [load for anchor in covered for load in anchor.load]
        ratios[network] = [f"{network}: step time against each framework's own native loop (harness / native, committed "
                           f"measurement {'; '.join(dates)}, 1-minute load {min(loads):.1f}-{max(loads):.1f}): "
                           f"{', '.join(map(_ratio_text, covered))}."]
        steps = eager_steps(view, network)
        if len(steps) < 2:
            continue
        fastest = min(steps, key=steps.__getitem__)
        for framework, median in steps.items():
            anchor = anchors.get((network, framework, "eager"))
            if anchor is None or median < FAR_SLOWER * steps[fastest]:
                continue
            factor = median / steps[fastest]
            slower.setdefault(network, []).append(f"{network}: {possessive(framework)} step is {factor:.1f}x "
                                                  f"{possessive(fastest)}; {_verdict(anchor, factor)}.")
    return ratios, slower


def native_blocks(view: RunView) -> tuple[list[str], tuple[Block, ...]]:
    """For the Summary: the far-slower lines (open), and every ratio folded away."""
    ratios, slower = native_lines(view)
    folded = [line for lines in ratios.values() for line in lines]
    return ([line for lines in slower.values() for line in lines],
            (Details("Step time against each framework's own native loop", (Bullets(tuple(folded)),)),) if folded else ())
