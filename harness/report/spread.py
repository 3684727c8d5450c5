"""The Summary's framework spread: when frameworks differ on the same network by more than their
seed intervals, which framework stands out and which effective settings set it apart.

The test, per network, over the final test accuracies of the seeds of every framework with at
least two: first Alexander-Govern's one-way test that every framework has the same mean
(``scipy.stats.alexandergovern``; unlike the F test it does not assume equal variances; it assumes
roughly normal seeds), at ``ALPHA``. Only when it rejects, each framework against the others' seeds
pooled, by Welch's t-test, Holm-adjusted over the frameworks so that the family's error stays at
``ALPHA``: the frameworks that pass stand out. When none does, the highest and the lowest framework
are compared instead.

The settings named are those a framework resolved differently from every other one it is compared
with (as recorded per job, read with :func:`harness.report.settings.settings_of`), where at least one
of them used its own default: a setting the spec fixes is the same effective value in every
framework however each writes it, so only the defaults can differ. Runtime switches (``runtime``)
change speed, not what is learned, and are left out. Values are compared as recorded, ignoring case.
"""

from __future__ import annotations

import math
import statistics
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from scipy import stats as scipy_stats

from harness.report import format as fmt
from harness.report import stats
from harness.report.document import Block, Bullets, Details, Text
from harness.report.model import RunView, labels
from harness.report.settings import settings_of

ALPHA = 0.05
POINTS = 100.0
SKIPPED_GROUPS = ("runtime",)
SHOWN_VALUES = 3
"""The most distinct values of one setting a line names; more are counted."""

Accuracies = Mapping[tuple[str, str], Mapping[int, float]]
"""(network, framework) -> seed -> final test accuracy."""


@dataclass(frozen=True)
class Standout:
    """A framework whose accuracy on ``network`` differs from the others' pooled seeds."""

    framework: str
    mean: float
    others: tuple[str, ...]
    others_mean: float
    p_value: float
    """Welch's t-test against the others' seeds, Holm-adjusted over the frameworks."""


@dataclass(frozen=True)
class Spread:
    """The frameworks of one network whose means differ by more than their seed intervals."""

    network: str
    p_value: float
    """Alexander-Govern's test that every framework has the same mean."""
    estimates: dict[str, stats.Estimate]
    standouts: tuple[Standout, ...]


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment: each p-value such that rejecting below ``ALPHA`` keeps the
    family-wise error rate at ``ALPHA``."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted = [1.0] * len(p_values)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


def spread(network: str, accuracy: Mapping[str, Mapping[int, float]]) -> Spread | None:
    """The spread of ``network`` over the frameworks (framework -> seed -> accuracy), or None when the
    frameworks agree within their seed intervals or there is too little to test."""
    samples = {fw: [v for v in values.values() if math.isfinite(v)] for fw, values in accuracy.items()}
    samples = {fw: values for fw, values in samples.items() if len(values) >= 2}
    if len(samples) < 2 or all(len(set(values)) == 1 for values in samples.values()):
        return None
    with warnings.catch_warnings(action="ignore", category=RuntimeWarning):  # little variance: the p-value says it
        p_value = float(scipy_stats.alexandergovern(*samples.values()).pvalue)
    if not math.isfinite(p_value) or p_value >= ALPHA:
        return None
    raw = {}
    for framework, values in samples.items():
        rest = [v for other, others in samples.items() if other != framework for v in others]
        with warnings.catch_warnings(action="ignore", category=RuntimeWarning):  # little variance: the p-value says it
            raw[framework] = float(scipy_stats.ttest_ind(values, rest, equal_var=False).pvalue)
    adjusted = dict(zip(raw, holm([p if math.isfinite(p) else 1.0 for p in raw.values()])))
    standing = [fw for fw, p in adjusted.items() if p < ALPHA]
    if len(samples) == 2 or not standing:
        low, high = sorted(samples, key=lambda fw: statistics.fmean(samples[fw]))[:: len(samples) - 1]
        standing, versus = [low], {low: [high]}
    else:
        versus = {fw: [other for other in samples if other != fw] for fw in standing}
    standouts = tuple(
        Standout(fw, statistics.fmean(samples[fw]), tuple(versus[fw]),
                 statistics.fmean([v for other in versus[fw] for v in samples[other]]), adjusted[fw])
        for fw in standing)
    estimates = {fw: e for fw, values in samples.items() if (e := stats.estimate(values)) is not None}
    return Spread(network, p_value, estimates, standouts)


def differing_settings(view: RunView, network: str, framework: str, others: Sequence[str]) -> dict[str, tuple[list[str], list[str]]]:
    """Setting name -> (``framework``'s values, the others' values) over the groups where
    ``framework`` resolved it differently from every one of ``others``, a default on either side."""
    mine = settings_of(view, network, framework)
    theirs = [settings_of(view, network, other) for other in others]
    found: dict[str, tuple[list[str], list[str]]] = {}
    for group, settings in mine.items():
        if group in SKIPPED_GROUPS:
            continue
        for name, setting in settings.items():
            entries = [other[group][name] for other in theirs if name in other.get(group, {})]
            if not entries or not (setting.default or any(entry.default for entry in entries)):
                continue
            value = fmt.plain(setting.value)
            values = [fmt.plain(entry.value) for entry in entries]
            if value.lower() in {v.lower() for v in values}:
                continue
            own, other_values = found.setdefault(name, ([], []))
            own.append(value)
            other_values.extend(values)
    return {name: (_distinct(own), _distinct(rest)) for name, (own, rest) in found.items()}


def _distinct(values: list[str]) -> list[str]:
    """Each value once, in order, ignoring case."""
    seen: dict[str, str] = {}
    for value in values:
        seen.setdefault(value.lower(), value)
    return list(seen.values())


def _values(values: list[str]) -> str:
    shown = ", ".join(values[:SHOWN_VALUES])
    return shown + (f" and {len(values) - SHOWN_VALUES} more" if len(values) > SHOWN_VALUES else "")


def _accuracy(estimate: stats.Estimate) -> str:
    half = "" if estimate.half_width is None else f" ± {fmt.accuracy(estimate.half_width)}"
    return f"{fmt.accuracy(estimate.mean)}{half}"


def short_line(view: RunView, found: Spread) -> str:
    """The Summary's open bullet: which frameworks stand out, by how much, and the names of the settings
    that differ (their values are in :func:`spread_line`, folded)."""
    parts = []
    for standout in found.standouts:
        gap = (standout.mean - standout.others_mean) * POINTS
        against = "the others" if len(standout.others) > 1 else standout.others[0]
        differing = ", ".join(differing_settings(view, found.network, standout.framework, standout.others))
        parts.append(f"{standout.framework} {abs(gap):.1f} points {'below' if gap < 0 else 'above'} {against}, "
                     + (f"differing in {differing}" if differing else "with no recorded setting that differs"))
    return (f"Frameworks differ on {labels(view)[found.network]} by more than their seed intervals "
            f"(p={found.p_value:.2g}): {'; '.join(parts)}.")


def spread_line(view: RunView, found: Spread) -> str:
    """One Summary bullet: which frameworks differ, by how much and how sure, and the settings that differ."""
    name = labels(view)[found.network]
    parts = []
    for standout in found.standouts:
        gap = (standout.mean - standout.others_mean) * POINTS
        others = ", ".join(standout.others)
        against = (f"the other frameworks' pooled seeds ({others}: {fmt.accuracy(standout.others_mean)}; Welch's t, "
                   f"Holm-adjusted p={standout.p_value:.2g})" if len(standout.others) > 1
                   else f"{others} ({_accuracy(found.estimates[others])})")
        differing = differing_settings(view, found.network, standout.framework, standout.others)
        settings = "; ".join(f"{setting} {_values(own)} (others: {_values(rest)})"
                             for setting, (own, rest) in differing.items())
        explained = (f"its effective settings that differ: {settings}" if settings else
                     "no recorded effective setting differs, so the settings do not explain it")
        parts.append(f"{standout.framework} ({_accuracy(found.estimates[standout.framework])}) is "
                     f"{abs(gap):.1f} points {'below' if gap < 0 else 'above'} {against}; {explained}")
    return (f"Frameworks differ on {name} by more than their seed intervals (Alexander-Govern one-way test over "
            f"the seeds, p={found.p_value:.2g}): {'. '.join(parts)}.")


TEST = ("Framework spread: per network, Alexander-Govern's one-way test over the seeds that every framework has the "
        "same mean accuracy (unequal variances allowed, seeds assumed roughly normal), at 95%; when it rejects, each "
        "framework against the others' pooled seeds by Welch's t-test, Holm-adjusted over the frameworks. Settings "
        "named are those the framework resolved differently from every other, where one used its own default.")


def spread_blocks(view: RunView, accuracy: Accuracies) -> tuple[Block, ...]:
    """The Summary's spread: one short bullet per network whose frameworks differ, with the figures,
    the settings' values and the test folded below; nothing when the frameworks agree."""
    found = [result for network in view.networks
             if (result := spread(network, {fw: seeds for (net, fw), seeds in accuracy.items() if net == network}))]
    if not found:
        return ()
    return (Bullets(tuple(short_line(view, result) for result in found)),
            Details("Framework spread: the test, and the settings that differ",
                    (Text(TEST), Bullets(tuple(spread_line(view, result) for result in found)))))
