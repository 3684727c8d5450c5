"""The report's statistics over seeds and timings (scipy): means with confidence intervals, the
significance of a difference, and the spread of step times.

Accuracy is one value per seed, so its uncertainty comes from the seeds: the mean with a Student-t
95% confidence interval, and for a difference between two networks a paired t-test when both ran
the same seeds (Welch's t-test otherwise), with scipy's confidence interval of the difference.
With one seed there is no interval and no test, and the report says ``n=1``.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from scipy import stats

from harness.results import Timing

CONFIDENCE = 0.95
ALPHA = 0.05
"""A difference is called significant when its two-sided p-value is below this."""
PAIRED = "paired t-test"
WELCH = "Welch's t-test"


@dataclass(frozen=True)
class Estimate:
    """The mean of ``n`` values with the half-width of its confidence interval (None when n < 2)."""

    mean: float
    half_width: float | None
    n: int


def estimate(values: Sequence[float], confidence: float = CONFIDENCE) -> Estimate | None:
    """Mean and Student-t confidence interval of the finite ``values``; None when there are none."""
    finite = [float(v) for v in values if math.isfinite(v)]
    if not finite:
        return None
    mean = statistics.fmean(finite)
    if len(finite) < 2:
        return Estimate(mean, None, 1)
    sem = float(stats.sem(finite))
    if sem == 0:
        return Estimate(mean, 0.0, len(finite))
    _, high = stats.t.interval(confidence, len(finite) - 1, loc=mean, scale=sem)
    return Estimate(mean, float(high - mean), len(finite))


@dataclass(frozen=True)
class Difference:
    """``b`` minus ``a``: the difference of the means, its confidence interval and the test's p-value.

    ``low``, ``high``, ``p_value`` and ``test`` are None when either side has fewer than two values.
    """

    mean: float
    low: float | None
    high: float | None
    p_value: float | None
    test: str | None
    n_a: int
    n_b: int

    @property
    def half_width(self) -> float | None:
        return None if self.low is None or self.high is None else (self.high - self.low) / 2

    @property
    def significant(self) -> bool:
        return self.p_value is not None and self.p_value < ALPHA


def difference(a: Mapping[int, float], b: Mapping[int, float], confidence: float = CONFIDENCE) -> Difference | None:
    """``b - a`` over seeds (seed -> value): paired when both hold the same seeds, else Welch's test."""
    a = {seed: v for seed, v in a.items() if math.isfinite(v)}
    b = {seed: v for seed, v in b.items() if math.isfinite(v)}
    if not a or not b:
        return None
    mean = statistics.fmean(b.values()) - statistics.fmean(a.values())
    if len(a) < 2 or len(b) < 2:
        return Difference(mean, None, None, None, None, len(a), len(b))
    paired = a.keys() == b.keys()
    test = PAIRED if paired else WELCH
    seeds = sorted(a)
    if paired:
        constant = len({b[s] - a[s] for s in seeds}) == 1
    else:
        constant = len(set(a.values())) == 1 and len(set(b.values())) == 1
    if constant:  # no variance: every seed gave the same difference, there is nothing to test
        return Difference(mean, mean, mean, None, test, len(a), len(b))
    if paired:
        result = stats.ttest_rel([b[s] for s in seeds], [a[s] for s in seeds])
    else:
        result = stats.ttest_ind(list(b.values()), list(a.values()), equal_var=False)
    p_value = float(result.pvalue)
    interval = result.confidence_interval(confidence)
    return Difference(mean, float(interval.low), float(interval.high), p_value, test, len(a), len(b))


@dataclass(frozen=True)
class Spread:
    """A typical time (``median``) with the range it scatters over (``low`` to ``high``), from ``n`` timings."""

    median: float
    low: float
    high: float
    n: int


def timing_spread(timings: Sequence[Timing]) -> Spread | None:
    """One timing: its median with its 10th and 90th percentiles. Several independent timings (seeds,
    or rounds): the median of their medians, from the lowest 10th to the highest 90th percentile."""
    if not timings:
        return None
    if len(timings) == 1:
        only = timings[0]
        return Spread(only.median_ms, only.p10_ms, only.p90_ms, 1)
    return Spread(statistics.median(t.median_ms for t in timings), min(t.p10_ms for t in timings),
                  max(t.p90_ms for t in timings), len(timings))
