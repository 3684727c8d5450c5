"""Each framework's step time against its own native loop: is a slow framework the harness's doing?

The measurements are the committed ones, ``harness/report/native_anchors.json``, written by
``benchmarks/native_overhead.py --record`` (the harness's ``run`` and the framework's plain
training loop, ``benchmarks/native/``, on the same images, interleaved; harness step / native
step, median over rounds). The report does not measure anything itself: it quotes those figures
for the networks and frameworks they cover, with the verdict on the harness's promise (at most
:data:`LIMIT` times the native step, :func:`overhead_verdict`), and, where a framework's step is far
slower than the fastest framework's, says whether its own plain loop is as slow (then the harness is
not the cause).
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from harness.findings.power import UNDECIDED, decide, one_sample, replicates_needed
from harness.report.document import Block, Details, Table, Text
from harness.report.findings import MARKS

if TYPE_CHECKING:
    from harness.report.model import RunView

ANCHORS = Path(__file__).with_name("native_anchors.json")
FAR_SLOWER = 1.5
"""A framework whose median step is at least this many times the fastest framework's is far slower."""
AS_SLOW = 1.10
"""Harness / native at most this: the framework's own loop is as slow, the harness adds nothing that matters."""
LIMIT = 1.03
"""The harness's promise: its step at most this many times the framework's own plain loop's."""


@dataclass(frozen=True)
class Overhead:
    """The verdict on the promise (harness / native at most :data:`LIMIT`) from the rounds' ratios.

    The effect is the mean of the rounds' log ratios, so ``ratio`` is their geometric mean and
    ``low``-``high`` its 95% Student-t interval: it covers the run-to-run variation of interleaved
    rounds on this machine, assuming the rounds are independent and their log ratios roughly normal.
    ``needs`` is, for an undecided verdict, the rounds whose interval would exclude the limit with 80%
    power at the observed mean and spread (noncentral t); None when that cannot be said (fewer than
    two rounds, no spread, or more rounds than is sensible).
    """

    verdict: str
    ratio: float
    low: float | None
    high: float | None
    n: int
    needs: int | None

    @property
    def label(self) -> str:
        """``holds``, ``contradicted``, ``undecided (needs 45 rounds)``."""
        return f"{self.verdict} (needs {self.needs} rounds)" if self.needs else self.verdict

    @property
    def estimate(self) -> str:
        """``0.99 [0.97, 1.01]``: the geometric mean and its interval, where there is one."""
        interval = f" [{self.low:.2f}, {self.high:.2f}]" if self.low is not None and self.high is not None else ""
        return f"{self.ratio:.2f}{interval}"

    def __str__(self) -> str:
        """``holds: geometric mean 0.99 [0.97, 1.01], 20 rounds``, ``undecided (needs 45 rounds): ...``."""
        return f"{self.label}: geometric mean {self.estimate}, {self.n} round{'s' * (self.n != 1)}"


def overhead_verdict(rounds: Sequence[float], limit: float = LIMIT) -> Overhead:
    """Whether the harness keeps within ``limit`` of the native step: *holds* when the interval of the
    ratio lies below ``limit``, *contradicted* when it lies above, else *undecided*."""
    logs = [math.log(ratio) for ratio in rounds if ratio > 0 and math.isfinite(ratio)]
    geometric = math.exp(statistics.fmean(logs)) if logs else math.nan
    interval = one_sample([value - math.log(limit) for value in logs])
    if interval is None:
        return Overhead(UNDECIDED, geometric, None, None, len(logs), None)
    low, high = (limit * math.exp(bound) for bound in (interval.low, interval.high))
    verdict = decide("lower", interval.low, interval.high, None)
    needs = replicates_needed(interval.mean, interval.sd) if verdict == UNDECIDED else None
    return Overhead(verdict, geometric, low, high, interval.n, needs)


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


def covered_anchors(view: RunView, anchors: dict[tuple[str, str, str], Anchor]) -> dict[str, list[Anchor]]:
    """Per network of the run: the anchors of its frameworks and modes (networks without any left out)."""
    found = {network: [anchor for framework in view.frameworks for mode in view.modes
                       if (anchor := anchors.get((network, framework, mode)))] for network in view.networks}
    return {network: covered for network, covered in found.items() if covered}


def overhead_table(network: str, covered: list[Anchor]) -> Table:
    """One row per framework and mode: both step times, their ratio and the verdict on the promise."""
    columns = ["framework", "mode", "native loop", "harness ms", "native ms", "ratio (median)", f"at most {LIMIT}",
               "geometric mean [95% CI]", "rounds"]
    rows, marks = [], []
    for anchor in covered:
        found = overhead_verdict(anchor.rounds)
        rows.append([anchor.framework, anchor.mode, anchor.native, f"{anchor.harness_ms:.2f}", f"{anchor.native_ms:.2f}",
                     f"{anchor.ratio:.2f}", found.label, found.estimate, str(found.n)])
        marks.append([""] * 6 + [MARKS.get(found.verdict, "warn")] + [""] * 2)
    return Table(pd.DataFrame(rows, columns=columns, dtype=object), ("left",) * 3 + ("right",) * 3 + ("left",) * 2 + ("right",),
                 marks=pd.DataFrame(marks, columns=columns, dtype=object), sort="none", id=f"native-{network}",
                 title=f"{network}: harness against each framework's own native loop")


def measured_text(covered: list[Anchor]) -> str:
    """When and how the rows were measured, each setting once with its dates ("2026-12-06 and
    2026-12-07, 3200 images, 1 thread(s)")."""
    dates_by_setting: dict[str, list[str]] = {}
    for measured in sorted({anchor.measured for anchor in covered}):
        date, _, setting = measured.partition(", ")
        dates_by_setting.setdefault(setting, []).append(date)
    count = sum(map(len, dates_by_setting.values()))
    parts = [", ".join(filter(None, (" and ".join(dates), setting))) for setting, dates in dates_by_setting.items()]
    return f"committed measurement{'s' if count > 1 else ''} {'; '.join(parts)}"


def overhead_text(network: str, covered: list[Anchor]) -> str:
    """What the table measured, and how its verdicts are reached."""
    loads = [load for anchor in covered for load in anchor.load]
    return (f"{network}: the harness's step time against the same network in each framework's own plain training "
            f"loop (`benchmarks/native/`), on the same images, in interleaved rounds ({measured_text(covered)}; "
            f"1-minute load {min(loads):.1f}-{max(loads):.1f}). The ratio is the median over rounds "
            f"of harness / native. The harness promises at most {LIMIT}: that holds when the 95% Student-t interval of "
            f"the rounds' geometric mean lies below {LIMIT}, is contradicted when it lies above, and is otherwise "
            "undecided, with the rounds that would decide it at the spread seen (80% power). The interval covers the "
            "variation between rounds on the machine that measured, assuming independent rounds with roughly normal "
            "log ratios; below 1 is no claim that the harness is faster, as the two sides time a step a little differently "
            "(docs/timing.md).")


def native_lines(view: RunView, anchors: dict[tuple[str, str, str], Anchor] | None = None) -> list[str]:
    """A line for every framework whose eager step on a network is far slower than the fastest
    framework's, saying whether its own plain loop (the committed anchor) is as slow."""
    anchors = read_anchors() if anchors is None else anchors
    slower: list[str] = []
    for network in covered_anchors(view, anchors):
        steps = eager_steps(view, network)
        if len(steps) < 2:
            continue
        fastest = min(steps, key=steps.__getitem__)
        for framework, median in steps.items():
            anchor = anchors.get((network, framework, "eager"))
            if anchor is None or median < FAR_SLOWER * steps[fastest]:
                continue
            factor = median / steps[fastest]
            slower.append(f"{network}: {possessive(framework)} step is {factor:.1f}x {possessive(fastest)}; "
                          f"{_verdict(anchor, factor)}.")
    return slower


def native_blocks(view: RunView) -> tuple[list[str], tuple[Block, ...]]:
    """For the Summary: the far-slower lines (open), and each network's table of anchors folded away."""
    anchors = read_anchors()
    tables: list[Block] = [block for network, covered in covered_anchors(view, anchors).items()
                           for block in (Text(overhead_text(network, covered)), overhead_table(network, covered))]
    return (native_lines(view, anchors),
            (Details("Step time against each framework's own native loop", tuple(tables)),) if tables else ())
