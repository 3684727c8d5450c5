"""Intervals, decisions and power for findings (scipy): a claim is decided by where the 95%
confidence interval of its effect lies, and an undecided one gets the number of replicates
(seeds, or timing rounds) that would decide it at the variance observed.

Effects are on an additive scale: a difference of accuracies, or the log of a ratio of times,
parameters or MACs (so a ratio's interval is symmetric in log and a margin of 5% is ln 1.05).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

ALPHA = 0.05
POWER = 0.8
MAX_REPLICATES = 100_000
"""Beyond this many seeds (or rounds) a run is called unable to decide the claim at all."""
HOLDS = "holds"
CONTRADICTED = "contradicted"
UNDECIDED = "undecided"


@dataclass(frozen=True)
class Interval:
    """The mean effect with its two-sided confidence interval, the replicates' SD and count, and the
    test's p-value against no effect (None where there is no variance to test)."""

    mean: float
    low: float
    high: float
    sd: float
    n: int
    p_value: float | None


def one_sample(values: Sequence[float], alpha: float = ALPHA) -> Interval | None:
    """Student-t interval of the mean of the finite ``values`` (paired differences, or values less a
    reference); None with fewer than two."""
    values = [value for value in values if math.isfinite(value)]
    if len(values) < 2:
        return None
    mean, sd = statistics.fmean(values), statistics.stdev(values)
    if sd == 0:
        return Interval(mean, mean, mean, 0.0, len(values), None)
    result = stats.ttest_1samp(values, 0.0)
    interval = result.confidence_interval(1 - alpha)
    return Interval(mean, float(interval.low), float(interval.high), sd, len(values), float(result.pvalue))


def two_sample(a: Sequence[float], b: Sequence[float], alpha: float = ALPHA) -> Interval | None:
    """Welch's interval of mean(b) - mean(a) for the finite values of independent samples; the SD is the pooled one."""
    a, b = [v for v in a if math.isfinite(v)], [v for v in b if math.isfinite(v)]
    if len(a) < 2 or len(b) < 2:
        return None
    mean = statistics.fmean(b) - statistics.fmean(a)
    sd = math.sqrt((statistics.variance(a) + statistics.variance(b)) / 2)
    if sd == 0:
        return Interval(mean, mean, mean, 0.0, min(len(a), len(b)), None)
    result = stats.ttest_ind(b, a, equal_var=False)
    interval = result.confidence_interval(1 - alpha)
    return Interval(mean, float(interval.low), float(interval.high), sd, min(len(a), len(b)), float(result.pvalue))


def decide(direction: str, low: float, high: float, margin: float | None) -> str:
    """A claim's verdict from its effect's interval: ``higher``/``lower`` hold when the interval is
    on that side of 0 and are contradicted when it is on the other; ``same`` holds when it lies
    inside +-margin and is contradicted when it lies wholly outside."""
    if direction == "same":
        bound = margin or 0.0
        if -bound <= low and high <= bound and (bound > 0 or low == high == 0):
            return HOLDS
        return CONTRADICTED if low > bound or high < -bound else UNDECIDED
    sign = 1.0 if direction == "higher" else -1.0
    low, high = sorted((sign * low, sign * high))
    if low > 0:
        return HOLDS
    return CONTRADICTED if high < 0 else UNDECIDED


def power(n: np.ndarray | int, effect: float, sd: float, groups: int = 1, alpha: float = ALPHA) -> np.ndarray:
    """Power of the two-sided t-test at ``alpha`` with ``n`` replicates per group (``groups`` 1: a
    paired or one-sample test; 2: two independent samples) when the true effect is ``effect`` and
    the replicates' SD is ``sd``: P(|T| > t crit) with T noncentral t, df = groups x (n - 1),
    noncentrality effect / (sd x sqrt(groups / n))."""
    n = np.asarray(n, dtype=float)
    df = groups * (n - 1)
    noncentrality = effect / (sd * np.sqrt(groups / n))
    critical = stats.t.ppf(1 - alpha / 2, df)
    return stats.nct.sf(critical, df, noncentrality) + stats.nct.cdf(-critical, df, noncentrality)


def replicates_needed(effect: float, sd: float, groups: int = 1, alpha: float = ALPHA,
                      target: float = POWER) -> int | None:
    """The fewest replicates (per group) whose t-test detects ``effect`` with probability ``target``
    (:func:`power`); None when the effect is 0 or more than ``MAX_REPLICATES`` would be needed."""
    if effect == 0 or sd <= 0 or not math.isfinite(effect / sd):
        return None
    guess = ((stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(target)) * sd / abs(effect)) ** 2 * groups
    if guess > MAX_REPLICATES:
        return None
    candidates = np.arange(2, int(guess) + 10)
    reached = np.nonzero(power(candidates, abs(effect), sd, groups, alpha) >= target)[0]
    return int(candidates[reached[0]]) if reached.size else None


def replicates_for_margin(mean: float, sd: float, margin: float, alpha: float = ALPHA) -> int | None:
    """For a ``same`` claim: the fewest replicates whose expected interval (t quantile x sd / sqrt(n))
    fits between the observed mean and the nearer margin; None when the mean is already outside."""
    room = margin - abs(mean)
    if room <= 0 or sd <= 0:
        return None
    guess = (stats.norm.ppf(1 - alpha / 2) * sd / room) ** 2
    if guess > MAX_REPLICATES:
        return None
    candidates = np.arange(2, int(guess) + 10)
    fits = np.nonzero(stats.t.ppf(1 - alpha / 2, candidates - 1) * sd / np.sqrt(candidates) <= room)[0]
    return int(candidates[fits[0]]) if fits.size else None
