"""Two runs compared: what changed per network and framework, and which changes are regressions.

The rule is asv's: a change counts only when it is both *large* (the new value is worse, or better,
than the old by at least ``factor``) and *significant* (a two-sided Mann-Whitney U test on the raw
samples gives p < ``P_THRESHOLD``). A large change that is not significant is marked ``~``. When
the samples are so few that the test could never reach the threshold, the verdict is
``insufficient data``. The samples are every timed step for the step time, and one value per
seed for accuracy and memory. Parameter counts are exact, so any difference is ``changed``. A
job that finished ok in the old run and not in the new one is a regression.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import pandas as pd
from scipy.stats import mannwhitneyu

from harness.report import format as fmt
from harness.results import JobResult, RunResults

P_THRESHOLD = 0.002
"""asv's significance threshold for the Mann-Whitney U test."""
DEFAULT_FACTOR = 1.1

REGRESSION = "regression"
IMPROVEMENT = "improvement"
WITHIN_NOISE = "~"
SAME = "same"
INSUFFICIENT = "insufficient data"
CHANGED = "changed"

Direction = Literal["lower", "higher"]


@dataclass(frozen=True)
class Change:
    """One metric of one (network, framework) in both runs, and the verdict on the difference."""

    network: str
    framework: str
    metric: str
    old: str
    new: str
    ratio: float | None
    p_value: float | None
    verdict: str


@dataclass(frozen=True)
class Judgement:
    ratio: float | None
    p_value: float | None
    verdict: str


def smallest_p_value(n: int, m: int) -> float:
    """The smallest two-sided p-value a Mann-Whitney U test on samples of sizes n and m can give."""
    return 2 / math.comb(n + m, min(n, m)) if n and m else 1.0


def judge(old: Sequence[float], new: Sequence[float], better: Direction, factor: float = DEFAULT_FACTOR,
          p_threshold: float = P_THRESHOLD) -> Judgement:
    """The verdict on ``new`` against ``old`` (medians compared, raw samples tested)."""
    old = [v for v in old if math.isfinite(v)]
    new = [v for v in new if math.isfinite(v)]
    if not old or not new:
        return Judgement(None, None, INSUFFICIENT)
    before, after = statistics.median(old), statistics.median(new)
    if before == 0:
        return Judgement(None, None, SAME if after == 0 else INSUFFICIENT)
    ratio = after / before
    grown, shrunk = ratio >= factor, ratio <= 1 / factor
    if not (grown or shrunk):
        return Judgement(ratio, None, SAME)
    if smallest_p_value(len(old), len(new)) >= p_threshold:
        return Judgement(ratio, None, INSUFFICIENT)
    p_value = float(mannwhitneyu(old, new, alternative="two-sided").pvalue)
    if not p_value < p_threshold:
        return Judgement(ratio, p_value, WITHIN_NOISE)
    worse = grown if better == "lower" else shrunk
    return Judgement(ratio, p_value, REGRESSION if worse else IMPROVEMENT)


@dataclass(frozen=True)
class Measure:
    """A compared metric: its samples in a group of jobs, how to write them, which way is better."""

    name: str
    samples: Callable[[list[JobResult]], list[float]]
    write: Callable[[float | None], str]
    better: Direction


def _step_samples(jobs: list[JobResult]) -> list[float]:
    return [s for job in jobs if job.step_time is not None for s in job.step_time.samples_ms]


def _per_seed(value: Callable[[JobResult], float | None]) -> Callable[[list[JobResult]], list[float]]:
    return lambda jobs: [v for job in jobs if job.status == "ok" and (v := value(job)) is not None]


MEASURES: tuple[Measure, ...] = (
    Measure("accuracy", _per_seed(lambda job: job.final_test_accuracy), fmt.accuracy, "higher"),
    Measure("step ms", _step_samples, fmt.significant, "lower"),
    Measure("memory MiB", _per_seed(lambda job: job.peak_rss_mb), fmt.significant, "lower"),
)


def _median_text(measure: Measure, samples: list[float]) -> str:
    finite = [v for v in samples if math.isfinite(v)]
    if not finite:
        return fmt.MISSING
    return measure.write(statistics.median(finite))


def _status(jobs: list[JobResult]) -> str:
    return next((job.status for job in jobs if job.status != "ok"), "ok")


def _params(jobs: list[JobResult]) -> int | None:
    return next((job.params.total for job in jobs if job.params is not None), None)


def _group(run: RunResults) -> dict[tuple[str, str], list[JobResult]]:
    """Jobs by network and framework in its mode (``torch:compiled``: compiled matches compiled only)."""
    groups: dict[tuple[str, str], list[JobResult]] = {}
    for job in sorted(run.jobs, key=lambda j: j.seed):
        groups.setdefault((job.network, job.label), []).append(job)
    return groups


def compare_runs(old: RunResults, new: RunResults, factor: float = DEFAULT_FACTOR,
                 p_threshold: float = P_THRESHOLD) -> list[Change]:
    """Every metric of every (network, framework) in either run, sorted, with its verdict."""
    before, after = _group(old), _group(new)
    changes = []
    for key in sorted(before.keys() | after.keys()):
        network, framework = key
        if key not in after or key not in before:
            side = "OLD" if key in before else "NEW"
            jobs = before.get(key) or after[key]
            text = f"{_status(jobs)} ({len(jobs)} job{'s' if len(jobs) > 1 else ''})"
            changes.append(Change(network, framework, "job", text if side == "OLD" else fmt.MISSING,
                                  text if side == "NEW" else fmt.MISSING, None, None, f"only in {side}"))
            continue
        old_jobs, new_jobs = before[key], after[key]
        old_status, new_status = _status(old_jobs), _status(new_jobs)
        status_verdict = (SAME if old_status == new_status else REGRESSION if old_status == "ok"
                          else IMPROVEMENT if new_status == "ok" else CHANGED)
        changes.append(Change(network, framework, "status", old_status, new_status, None, None, status_verdict))
        for measure in MEASURES:
            old_samples, new_samples = measure.samples(old_jobs), measure.samples(new_jobs)
            verdict = judge(old_samples, new_samples, measure.better, factor, p_threshold)
            text = verdict.verdict
            if text == INSUFFICIENT:
                text += f" (n={len(old_samples)}/{len(new_samples)})"
            changes.append(Change(network, framework, measure.name,
                                  _median_text(measure, old_samples), _median_text(measure, new_samples),
                                  verdict.ratio, verdict.p_value, text))
        old_params, new_params = _params(old_jobs), _params(new_jobs)
        changes.append(Change(network, framework, "params", fmt.count(old_params), fmt.count(new_params),
                              None, None, SAME if old_params == new_params else CHANGED))
    return changes


def regressions(changes: list[Change]) -> list[Change]:
    return [change for change in changes if change.verdict == REGRESSION]


def changes_frame(changes: list[Change]) -> pd.DataFrame:
    """The changes as a table of text, one row per metric of each (network, framework)."""
    rows = [[c.verdict, c.network, c.framework, c.metric, c.old, c.new, fmt.ratio(c.ratio),
             fmt.MISSING if c.p_value is None else f"{c.p_value:.2g}"] for c in changes]
    return pd.DataFrame(rows, columns=["verdict", "network", "framework", "metric", "old", "new", "new/old", "p"],
                        dtype=object)
