"""Two runs compared: what changed per network and framework, and which changes are regressions.

The rule is asv's: a change counts only when it is both *large* (the new value is worse, or better,
than the old by at least ``factor``) and *significant* (a two-sided Mann-Whitney U test on
independent samples gives p < ``P_THRESHOLD``). A large change that is not significant is marked
``~``. When the samples are so few that the test could never reach the threshold, the verdict is
``insufficient data``. The samples are the rounds of every seed's job for the step time (each
round the median of a block of steps, see :mod:`harness.runner.measure`; consecutive steps of one
process are strongly correlated, so testing them would be wildly overconfident), and one value per
seed for accuracy and memory. A step-time change in jobs timed on a busy machine or with unstable
rounds (their ``noise`` flags) is never called a regression: it is marked ``~ (noisy)``. Every
ratio comes with a 95% bootstrap confidence interval. Parameter counts are exact, so any difference
is ``changed``. A job that finished ok in the old run and not in the new one is a regression.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy.stats import bootstrap, mannwhitneyu

from harness.report import format as fmt
from harness.results import JobResult, RunResults
from harness.runner.measure import rounds

P_THRESHOLD = 0.002
"""asv's significance threshold for the Mann-Whitney U test."""
DEFAULT_FACTOR = 1.1
CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 2000

REGRESSION = "regression"
IMPROVEMENT = "improvement"
WITHIN_NOISE = "~"
SAME = "same"
INSUFFICIENT = "insufficient data"
CHANGED = "changed"
NOISY = "~ (noisy)"

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
    interval: tuple[float, float] | None = None


@dataclass(frozen=True)
class Judgement:
    ratio: float | None
    p_value: float | None
    verdict: str
    interval: tuple[float, float] | None = None


def smallest_p_value(n: int, m: int) -> float:
    """The smallest two-sided p-value a Mann-Whitney U test on samples of sizes n and m can give:
    2 / C(n + m, n), computed through log-gamma so that huge samples cost no time."""
    if not (n and m):
        return 1.0
    log_comb = math.lgamma(n + m + 1) - math.lgamma(n + 1) - math.lgamma(m + 1)
    return min(1.0, 2 * math.exp(-log_comb))


def ratio_interval(old: Sequence[float], new: Sequence[float]) -> tuple[float, float] | None:
    """A 95% bootstrap confidence interval of median(new) / median(old) (seeded: the same files give
    the same interval); None with fewer than two values a side or a zero median."""
    if len(old) < 2 or len(new) < 2 or min(abs(v) for v in old) == 0:
        return None

    def ratio_of_medians(before: np.ndarray, after: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.median(after, axis=axis) / np.median(before, axis=axis)

    result = bootstrap((np.asarray(old), np.asarray(new)), ratio_of_medians, n_resamples=BOOTSTRAP_RESAMPLES,
                       confidence_level=CONFIDENCE, method="percentile", rng=np.random.default_rng(0))
    low, high = result.confidence_interval
    return (float(low), float(high)) if math.isfinite(low) and math.isfinite(high) else None


def judge(old: Sequence[float], new: Sequence[float], better: Direction, factor: float = DEFAULT_FACTOR,
          p_threshold: float = P_THRESHOLD, noisy: bool = False) -> Judgement:
    """The verdict on ``new`` against ``old`` (medians compared, independent samples tested);
    ``noisy``: the samples were taken on a busy machine or are unstable, so nothing is a regression."""
    old = [v for v in old if math.isfinite(v)]
    new = [v for v in new if math.isfinite(v)]
    if not old or not new:
        return Judgement(None, None, INSUFFICIENT)
    before, after = statistics.median(old), statistics.median(new)
    if before == 0:
        return Judgement(None, None, SAME if after == 0 else INSUFFICIENT)
    ratio = after / before
    interval = ratio_interval(old, new)
    grown, shrunk = ratio >= factor, ratio <= 1 / factor
    if not (grown or shrunk):
        return Judgement(ratio, None, SAME, interval)
    if smallest_p_value(len(old), len(new)) >= p_threshold:
        return Judgement(ratio, None, INSUFFICIENT, interval)
    p_value = float(mannwhitneyu(old, new, alternative="two-sided").pvalue)
    if not p_value < p_threshold:
        return Judgement(ratio, p_value, WITHIN_NOISE, interval)
    if noisy:
        return Judgement(ratio, p_value, NOISY, interval)
    worse = grown if better == "lower" else shrunk
    return Judgement(ratio, p_value, REGRESSION if worse else IMPROVEMENT, interval)


@dataclass(frozen=True)
class Measure:
    """A compared metric: its samples in a group of jobs, how to write them, which way is better."""

    name: str
    samples: Callable[[list[JobResult]], list[float]]
    write: Callable[[float | None], str]
    better: Direction
    timing: bool = False


def _step_rounds(jobs: list[JobResult]) -> list[float]:
    """Every seed's rounds (files written before rounds were stored: rounds of their samples)."""
    return [value for job in jobs if job.step_time is not None
            for value in (job.step_time.rounds_ms or rounds(job.step_time.samples_ms))]


def _per_seed(value: Callable[[JobResult], float | None]) -> Callable[[list[JobResult]], list[float]]:
    return lambda jobs: [v for job in jobs if job.status == "ok" and (v := value(job)) is not None]


MEASURES: tuple[Measure, ...] = (
    Measure("accuracy", _per_seed(lambda job: job.final_test_accuracy), fmt.accuracy, "higher"),
    Measure("step ms", _step_rounds, fmt.significant, "lower", timing=True),
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
            flagged = measure.timing and any(job.noise_flags for job in old_jobs + new_jobs)
            verdict = judge(old_samples, new_samples, measure.better, factor, p_threshold, noisy=flagged)
            text = verdict.verdict
            if text == INSUFFICIENT:
                text += f" (n={len(old_samples)}/{len(new_samples)})"
            changes.append(Change(network, framework, measure.name,
                                  _median_text(measure, old_samples), _median_text(measure, new_samples),
                                  verdict.ratio, verdict.p_value, text, verdict.interval))
        old_params, new_params = _params(old_jobs), _params(new_jobs)
        changes.append(Change(network, framework, "params", fmt.count(old_params), fmt.count(new_params),
                              None, None, SAME if old_params == new_params else CHANGED))
    return changes


def _pairs(groups: dict[tuple[str, str], list[JobResult]]) -> str:
    shown = [f"{network} · {framework}" for network, framework in sorted(groups)][:6]
    return ", ".join(shown) + (", …" if len(groups) > len(shown) else "") if shown else "no jobs"


def unrelated(old: RunResults, new: RunResults) -> str | None:
    """Why the two runs cannot be compared (no job in either, or no (network, framework) in
    common), or None. Such a comparison would find "no regression" for want of anything to compare."""
    before, after = _group(old), _group(new)
    if not before or not after:
        return f"the {'OLD' if not before else 'NEW'} run has no jobs, so nothing can be compared."
    if not before.keys() & after.keys():
        return (f"the two runs have no (network, framework) in common (OLD: {_pairs(before)}; NEW: {_pairs(after)}), "
                "so nothing can be compared.")
    return None


def spec_changes(old: RunResults, new: RunResults) -> list[str]:
    """One warning per network whose spec differs between the runs (its validated spec's digest)."""
    def digests(run: RunResults) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        for job in run.jobs:
            digest = job.config.get("spec_digest")
            if isinstance(digest, str) and digest:
                found.setdefault(job.network, set()).add(digest)
        return found

    before, after = digests(old), digests(new)
    return [f"the spec of {network} differs between the runs: its figures compare two different networks."
            for network in sorted(before.keys() & after.keys()) if before[network] != after[network]]


def regressions(changes: list[Change]) -> list[Change]:
    return [change for change in changes if change.verdict == REGRESSION]


SMALLEST_P = 1e-300


def p_text(p_value: float | None) -> str:
    """A p-value to two digits; one too small for a float to hold is written as a bound, never as 0."""
    if p_value is None:
        return fmt.MISSING
    return f"< {SMALLEST_P:g}" if p_value < SMALLEST_P else f"{p_value:.2g}"


def interval_text(interval: tuple[float, float] | None) -> str:
    return fmt.MISSING if interval is None else f"{fmt.ratio(interval[0])}–{fmt.ratio(interval[1])}"


def changes_frame(changes: list[Change]) -> pd.DataFrame:
    """The changes as a table of text, one row per metric of each (network, framework)."""
    rows = [[c.verdict, c.network, c.framework, c.metric, c.old, c.new, fmt.ratio(c.ratio), interval_text(c.interval),
             p_text(c.p_value)] for c in changes]
    return pd.DataFrame(rows, columns=["verdict", "network", "framework", "metric", "old", "new", "new/old", "95% CI", "p"],
                        dtype=object)


COMPARED_SETTINGS = ("epochs", "batch_size", "dataset", "limit_train", "limit_test", "init", "device", "threads", "warmup_steps")


def warnings(old: RunResults, new: RunResults) -> list[str]:
    """What makes the two runs' timings less comparable: settings, machine or noise that differ."""
    found = []
    for name in COMPARED_SETTINGS:
        before, after = old.settings.get(name), new.settings.get(name)
        if before != after:
            found.append(f"the runs differ in {name}: {before} (old) vs {after} (new)")
    machines = [{job.environment.cpu for job in run.jobs if job.environment is not None} for run in (old, new)]
    if machines[0] and machines[1] and machines[0] != machines[1]:
        found.append(f"the runs were timed on different CPUs: {', '.join(sorted(machines[0]))} (old) vs "
                     f"{', '.join(sorted(machines[1]))} (new)")
    for side, run in (("old", old), ("new", new)):
        flagged = [job for job in run.jobs if job.noise_flags]
        if flagged:
            found.append(f"{len(flagged)} job(s) of the {side} run were timed on a busy machine or with unstable rounds "
                         f"(e.g. {flagged[0].network} / {flagged[0].framework}: {flagged[0].noise_flags[0]}); their step "
                         "times are never called regressions")
    return found
