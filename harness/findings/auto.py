"""``harness run --seeds auto --budget 2h``: add seeds until every accuracy finding is decided, the
budget is spent, or the sequential rule's maximum is reached (:mod:`harness.findings.sequential`)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from harness.findings.adapter import facts
from harness.findings.power import UNDECIDED
from harness.findings.sequential import SequentialRule, sequential_verdicts, wants_another_seed
from harness.results import RunResults

AUTO = "auto"
UNITS = {"s": 1, "m": 60, "h": 3600}
BUDGET = re.compile(r"(\d+(?:\.\d+)?)\s*([smh]?)")


def parse_budget(text: str) -> float:
    """``2h``, ``90m``, ``300s`` or ``300`` (seconds) as seconds; ValueError otherwise."""
    match = BUDGET.fullmatch(text.strip())
    if match is None or float(match.group(1)) <= 0:
        raise ValueError(f"'{text}' is not a duration such as 2h, 90m or 300s.")
    return float(match.group(1)) * UNITS[match.group(2) or "s"]


def first_seeds(seed: int, rule: SequentialRule | None = None) -> list[int]:
    """The seeds ``--seeds auto`` starts with: the rule's minimum, from ``seed``."""
    return list(range(seed, seed + (rule or SequentialRule()).min_seeds))


def seeds_until_decided(execute: Callable[[list[int], bool], RunResults], first_seed: int, budget_seconds: float,
                        rule: SequentialRule | None = None,
                        clock: Callable[[], float] = time.monotonic) -> RunResults:
    """Run ``rule.min_seeds`` seeds from ``first_seed`` (``execute(seeds, again)``; ``again`` is True once
    earlier seeds' jobs are to be kept), then one seed more while a comparison is open, the rule's
    maximum is not reached and one more seed (at the mean time per seed so far) fits the budget.
    The results say in a note why it stopped."""
    rule = rule or SequentialRule()
    seeds = first_seeds(first_seed, rule)
    started = clock()
    results = execute(seeds, False)
    while True:
        calls = sequential_verdicts(facts(results), rule)
        per_seed = (clock() - started) / len(seeds)
        undecided = sum(call == UNDECIDED for call in calls.values())
        if not calls:
            why = "no accuracy finding compares two networks"
        elif not wants_another_seed(calls):
            why = ("every accuracy finding is decided" if not undecided else
                   f"{undecided} of {len(calls)} comparisons stay undecided "
                   + (f"at the rule's maximum of {rule.max_seeds} seeds" if len(seeds) >= rule.max_seeds
                      else "because a network did not learn"))
        elif clock() - started + per_seed > budget_seconds:
            why = f"one more seed (about {per_seed:.0f} s) would overrun the budget of {budget_seconds:.0f} s"
        else:
            seeds.append(seeds[-1] + 1)
            results = execute(seeds, True)
            continue
        results.notes.append(
            f"--seeds auto ran seeds {seeds[0]}-{seeds[-1]} and stopped: {why} (sequential rule: alpha "
            f"{rule.alpha:g} split over {rule.looks} looks, {rule.min_seeds} to {rule.max_seeds} seeds)")
        return results
