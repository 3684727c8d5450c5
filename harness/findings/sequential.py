"""Adding seeds until a finding is decided, with an error rate that stays honest under repeated looks.

Re-running a t-test after every added seed and stopping at the first p < 0.05 makes a false
decision far more likely than 5% (each look is another chance). The rule here splits the error
rate over the looks (Bonferroni): with at most ``max_seeds`` seeds it looks after seed
``min_seeds``, ``min_seeds + 1``, ... ``max_seeds``, i.e. ``K = max_seeds - min_seeds + 1`` times,
and each look decides only when the ``1 - alpha / K`` Student-t interval of the paired differences
excludes no effect (or, for a ``same`` claim, lies inside or wholly outside the margin). By the
union bound the chance of any false decision over all looks is at most ``alpha``, whatever the
dependence between looks.

Why not Pocock or O'Brien-Fleming boundaries (a group-sequential design with alpha spending)?
Their constants are derived for normal statistics with a known variance and fixed information
increments; here every look re-estimates the variance from 2 to a dozen seeds (1 to 11 degrees
of freedom), where those constants are not exact and can exceed the nominal rate. Bonferroni is
exact as a bound at any sample size; it is conservative (it gives up some power), which the
simulation in the tests shows: its false-decision rate on identical networks stays below alpha,
while the naive rule's does not.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

from scipy import stats

from harness.findings import outcomes
from harness.findings.adapter import RunFacts
from harness.findings.claims import CHANCE
from harness.findings.power import ALPHA, UNDECIDED, decide

CONTINUE = "continue"


@dataclass(frozen=True)
class SequentialRule:
    """Decide a claim after each added seed, or continue, within at most ``max_seeds`` seeds."""

    alpha: float = ALPHA
    min_seeds: int = 2
    max_seeds: int = 10

    def __post_init__(self) -> None:
        if not (0 < self.alpha < 1 and 2 <= self.min_seeds <= self.max_seeds):
            raise ValueError("the rule needs 0 < alpha < 1 and 2 <= min_seeds <= max_seeds")

    @property
    def looks(self) -> int:
        return self.max_seeds - self.min_seeds + 1

    @property
    def look_alpha(self) -> float:
        """The two-sided error rate each look may spend: alpha / looks."""
        return self.alpha / self.looks

    @cached_property
    def critical(self) -> dict[int, float]:
        """Seeds -> the t quantile of each look's interval."""
        return {n: float(stats.t.ppf(1 - self.look_alpha / 2, n - 1)) for n in range(self.min_seeds, self.max_seeds + 1)}

    def decide(self, differences: Sequence[float], direction: str, margin: float | None = None) -> str:
        """``holds``, ``contradicted``, ``continue`` (add a seed) or, at ``max_seeds``, ``undecided``,
        from the per-seed paired differences (network minus the other) gathered so far."""
        n = len(differences)
        if n < self.min_seeds:
            return CONTINUE
        if n > self.max_seeds:
            raise ValueError(f"{n} seeds is past the rule's maximum of {self.max_seeds}")
        mean = statistics.fmean(differences)
        half_width = self.critical[n] * statistics.stdev(differences) / math.sqrt(n)
        verdict = decide(direction, mean - half_width, mean + half_width, margin)
        if verdict != UNDECIDED:
            return verdict
        return UNDECIDED if n == self.max_seeds else CONTINUE


def seeds_within(budget_seconds: float, seconds_per_seed: float, ceiling: int = 100) -> int:
    """How many seeds a budget affords at the observed time per seed (both networks, every framework)."""
    if seconds_per_seed <= 0:
        return ceiling
    return max(0, min(ceiling, int(budget_seconds // seconds_per_seed)))


def run_until_decided(rule: SequentialRule, next_difference: Callable[[], float], direction: str,
                      margin: float | None = None) -> tuple[str, list[float]]:
    """Add seeds (``next_difference`` runs one and returns its paired difference) until the rule decides
    or its maximum is reached; the verdict and the differences seen."""
    differences: list[float] = []
    while True:
        differences.append(next_difference())
        verdict = rule.decide(differences, direction, margin)
        if verdict != CONTINUE:
            return verdict, differences


def paired_differences(facts: RunFacts, network: str, versus: str, framework: str) -> list[float] | None:
    """``network`` less ``versus`` test accuracy per seed in ``framework``, in seed order (the order seeds
    are added); None when a job of either did not learn, since more seeds would not make it comparable."""
    jobs = [job for job in facts.jobs if job.framework == framework and job.network in (network, versus)]
    if any(outcomes.outcome(job).kind != outcomes.LEARNED for job in jobs):
        return None
    accuracy = {(job.network, job.seed): job.accuracy for job in jobs if job.accuracy is not None}
    seeds = sorted({seed for name, seed in accuracy if name == network} & {seed for name, seed in accuracy if name == versus})
    return [accuracy[(network, seed)] - accuracy[(versus, seed)] for seed in seeds]


def sequential_verdicts(facts: RunFacts, rule: SequentialRule) -> dict[tuple[str, str], str]:
    """(finding, framework) -> the rule's call on every accuracy comparison of two networks: ``continue``
    asks for another seed. Timing claims are decided by a run's own rounds, counts need no seeds."""
    calls = {}
    for claim in facts.claims:
        if claim.metric != "test_accuracy" or claim.versus in (None, CHANCE):
            continue
        margin = claim.margin
        for framework in sorted({job.framework for job in facts.jobs if job.network == claim.network}):
            differences = paired_differences(facts, claim.network, claim.versus, framework)
            calls[(claim.key, framework)] = (UNDECIDED if differences is None
                                             else rule.decide(differences[:rule.max_seeds], claim.direction, margin))
    return calls


def wants_another_seed(calls: dict[tuple[str, str], str]) -> bool:
    """Whether any comparison is still open (``--seeds auto`` then runs one more seed)."""
    return CONTINUE in calls.values()
