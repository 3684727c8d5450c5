"""Verdicts: every finding of a run judged in every framework and pooled over the frameworks.

* **test accuracy** between two networks: the per-seed differences, paired by seed (paired t-test,
  Student-t 95% interval); against chance or a value: the per-seed accuracies less that level
  (one-sample t). Pooled: every (framework, seed) pair as one replicate. A comparison over a network
  that did not learn (:mod:`harness.findings.outcomes`) is undecided for that reason.
* **step time / latency**: the log of each job's round medians (rounds are far apart in time, so
  independent; raw consecutive steps are not), Welch's t-test between the two networks, the ratio
  exp(difference). Jobs whose timings the noise rules flag are left out. Pooled: the frameworks'
  log ratios as replicates (one-sample t).
* **parameters / MACs**: counted, not sampled: each framework's own count, pooled the oracle's.
* **learned**: every job's outcome; the claim holds when every seed agrees with it.

An undecided claim states how many seeds (or rounds per network) would decide it at the observed
variance (:mod:`harness.findings.power`): the observed effect taken as the truth (the published one
when none is observed), normal replicates, two-sided alpha 0.05, power 80%, and at least one more
than the run has.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from harness.findings import outcomes, power
from harness.findings.adapter import JobFacts, RunFacts
from harness.findings.claims import CHANCE, Claim
from harness.findings.power import CONTRADICTED, HOLDS, UNDECIDED, Interval

NOT_RUN = "not run"
POOLED = "pooled"
TIMED = {"step_time": "step_rounds", "latency": "latency_rounds"}
ACCURACY_TEST = "paired t-test over seeds"
ACCURACY_ASSUMPTIONS = ("per-seed differences independent and about normal; both networks ran the same seeds "
                        "(the pairs share data order and initialiser seed)")


@dataclass(frozen=True)
class Verdict:
    """One finding in one scope (a framework, or ``pooled``)."""

    scope: str
    verdict: str
    effect: float | None = None
    """Accuracy: a difference (fraction); times, parameters, MACs: a ratio."""
    low: float | None = None
    high: float | None = None
    n: int = 0
    test: str = ""
    assumptions: str = ""
    needed: int | None = None
    """Seeds (accuracy) or rounds per network (timing) that would decide an undecided claim."""
    reason: str = ""


@dataclass(frozen=True)
class Judged:
    claim: Claim
    verdicts: tuple[Verdict, ...]


def _scale(claim: Claim) -> Callable[[float], float]:
    return (lambda x: x) if claim.metric == "test_accuracy" else math.log


def _unscale(claim: Claim, value: float) -> float:
    return value if claim.metric == "test_accuracy" else math.exp(value)


def _margin(claim: Claim) -> float | None:
    if claim.margin is None:
        return None
    return claim.margin if claim.metric == "test_accuracy" else math.log1p(claim.margin)


def _published(claim: Claim) -> float | None:
    """The published effect on the additive scale (None when not published or not positive for a ratio)."""
    if claim.published is None or (claim.metric != "test_accuracy" and claim.published <= 0):
        return None
    return _scale(claim)(claim.published)


def _from_interval(claim: Claim, scope: str, values: Sequence[float], interval: Interval | None, test: str,
                   assumptions: str, groups: int, unit: str) -> Verdict:
    if interval is None:
        return Verdict(scope, UNDECIDED, n=len(values), test=test, assumptions=assumptions,
                       reason=f"n={len(values)}: no variance to judge by; needs at least 2 {unit}")
    verdict = power.decide(claim.direction, interval.low, interval.high, _margin(claim))
    needed, reason = None, ""
    if verdict == UNDECIDED:
        if claim.direction == "same":
            needed = power.replicates_for_margin(interval.mean, interval.sd, _margin(claim) or 0.0)
        else:
            effect = interval.mean if interval.mean != 0 else _published(claim)
            needed = power.replicates_needed(effect or 0.0, interval.sd, groups)
        needed = None if needed is None else max(needed, interval.n + 1)
        reason = (f"needs {needed} {unit}" + (" per network" if groups == 2 else "") if needed is not None
                  else f"no feasible number of {unit} decides it at this effect and variance")
    return Verdict(scope, verdict, _unscale(claim, interval.mean), _unscale(claim, interval.low),
                   _unscale(claim, interval.high), interval.n, test, assumptions, needed, reason)


def _not_learned(jobs: Sequence[JobFacts]) -> str:
    """Why a comparison over these jobs' networks is undecided: the networks that did not learn."""
    failed: dict[str, list[str]] = {}
    for job in jobs:
        result = outcomes.outcome(job)
        if result.kind != outcomes.LEARNED:
            failed.setdefault(job.network, []).append(result.kind)
    return "; ".join(f"{network.split(':', 1)[-1]} {', '.join(sorted(set(kinds)))}" for network, kinds in failed.items())


def _per_seed_means(pairs: list[tuple[int, float]]) -> list[float]:
    """The mean of each seed's values, in seed order."""
    by_seed: dict[int, list[float]] = {}
    for seed, value in pairs:
        by_seed.setdefault(seed, []).append(value)
    return [sum(values) / len(values) for _, values in sorted(by_seed.items())]


def _accuracy(claim: Claim, scope: str, mine: list[JobFacts], theirs: list[JobFacts]) -> Verdict:
    if claim.versus not in (None, CHANCE):
        blocked = _not_learned(mine + theirs)
        if blocked:
            return Verdict(scope, UNDECIDED, n=len(mine), test=ACCURACY_TEST,
                           reason=f"not learned: {blocked}")
        other = {(job.framework, job.seed): job.accuracy for job in theirs if job.accuracy is not None}
        pairs = [(job.seed, job.accuracy - other[(job.framework, job.seed)]) for job in mine
                 if job.accuracy is not None and (job.framework, job.seed) in other]
        values = [difference for _, difference in pairs]
        assumptions = ACCURACY_ASSUMPTIONS
        exchangeable = scope == POOLED and not any(job.same_start for job in mine)
        if scope == POOLED and not exchangeable:
            values = _per_seed_means(pairs)
            assumptions += ("; pooled: every framework started a seed from the same weights, so a seed's runs are not "
                            "independent: one replicate per seed, the mean of its frameworks' differences")
        elif exchangeable:
            assumptions += "; pooled: every (framework, seed) pair one replicate, the frameworks exchangeable"
        verdict = _from_interval(claim, scope, values, power.one_sample(values), ACCURACY_TEST, assumptions, 1, "seeds")
        frameworks = len({job.framework for job in mine})
        if not exchangeable or verdict.needed is None or frameworks < 2:
            return verdict
        each = math.ceil(verdict.needed / frameworks)  # the replicates are (framework, seed) pairs
        return replace(verdict, needed=each, reason=f"needs {each} seeds in each of its {frameworks} frameworks")
    classes = {job.classes for job in mine}
    level = claim.value
    if level is None and len(classes) == 1 and None not in classes:
        level = 1 / classes.pop()  # type: ignore[operator]
    if level is None:
        return Verdict(scope, UNDECIDED, reason="the number of classes is not recorded")
    values = [job.accuracy - level for job in mine if job.accuracy is not None]
    return _from_interval(claim, scope, values, power.one_sample(values),
                          f"one-sample t-test over seeds against {level:.4g}",
                          "per-seed accuracies independent and about normal", 1, "seeds")


def _logs(jobs: list[JobFacts], network: str | None, field: str) -> list[float]:
    return [math.log(value) for job in jobs if job.network == network for value in getattr(job, field) if value > 0]


def _timing(claim: Claim, scope: str, jobs: list[JobFacts]) -> Verdict:
    field = TIMED[claim.metric]
    timed = [job for job in jobs if job.network in (claim.network, claim.versus)]
    trusted = [job for job in timed if not job.timing_flags]
    if not trusted:
        return Verdict(scope, UNDECIDED, reason="every timing is flagged by the noise rules (busy, unstable or shared)")
    left = len(timed) - len(trusted)
    assumptions = "round medians independent and log-normal; one machine, equal threads" + (
        f"; {left} noisy job(s) left out" if left else "")
    mine = _logs(trusted, claim.network, field)
    if claim.value is not None:
        reference = math.log(claim.value) if claim.value > 0 else math.nan
        differences = [v - reference for v in mine]
        return _from_interval(claim, scope, differences, power.one_sample(differences),
                              "one-sample t-test on log round medians", assumptions, 1, "rounds")
    return _from_interval(claim, scope, mine, power.two_sample(_logs(trusted, claim.versus, field), mine),
                          "Welch's t-test on log round medians", assumptions, 2, "rounds")


def _count(claim: Claim, scope: str, mine: int | None, theirs: int | None) -> Verdict:
    if not mine or (not theirs and claim.value is None):
        return Verdict(scope, UNDECIDED, reason="not counted")
    other = claim.value if claim.value is not None else theirs
    ratio = mine / other
    verdict = power.decide(claim.direction, math.log(ratio), math.log(ratio), _margin(claim))
    return Verdict(scope, verdict, ratio, ratio, ratio, 1, "exact count", "counts are deterministic")


def _learned(claim: Claim, scope: str, mine: list[JobFacts]) -> Verdict:
    kinds = [outcomes.outcome(job).kind for job in mine]
    known = [kind for kind in kinds if kind != outcomes.UNKNOWN]
    test = "exact binomial test against chance per job, and the divergence rule"
    assumptions = (f"'did not learn' means not significantly above chance at alpha {outcomes.ALPHA} "
                   "(or a test loss at or above ln(classes))")
    if not known:
        return Verdict(scope, UNDECIDED, n=0, test=test, reason="no job finished")
    learned = sum(kind == outcomes.LEARNED for kind in known)
    claimed = claim.direction == "higher"
    share = learned / len(known)
    counts = ", ".join(f"{known.count(kind)} {kind}" for kind in dict.fromkeys(known))
    if learned in (0, len(known)):
        verdict = HOLDS if (learned > 0) == claimed else CONTRADICTED
        return Verdict(scope, verdict, share, n=len(known), test=test, assumptions=assumptions, reason=counts)
    return Verdict(scope, UNDECIDED, share, n=len(known), test=test, assumptions=assumptions,
                   reason=f"the seeds disagree: {counts}")


def _scope(claim: Claim, scope: str, facts: RunFacts, jobs: list[JobFacts]) -> Verdict:
    mine = [job for job in jobs if job.network == claim.network]
    theirs = [job for job in jobs if job.network == claim.versus]
    if claim.metric == "learned":
        return _learned(claim, scope, mine)
    if claim.metric == "test_accuracy":
        return _accuracy(claim, scope, mine, theirs)
    if claim.metric in TIMED:
        return _timing(claim, scope, jobs)
    if scope == POOLED:
        return _count(claim, scope, facts.oracle.get(claim.network, {}).get(claim.metric),
                      facts.oracle.get(claim.versus or "", {}).get(claim.metric))
    counts = {job.network: job.params for job in jobs if job.params is not None}
    if claim.metric == "macs":  # MACs are the oracle's; a framework does not count them
        counts = {network: facts.oracle.get(network, {}).get("macs") for network in counts}
    return _count(claim, scope, counts.get(claim.network), counts.get(claim.versus or ""))


def _pooled_timing(claim: Claim, verdicts: list[Verdict]) -> Verdict:
    ratios = [math.log(v.effect) for v in verdicts if v.effect and v.effect > 0]
    pooled = _from_interval(claim, POOLED, ratios, power.one_sample(ratios),
                            "one-sample t-test on the frameworks' log ratios",
                            "frameworks as independent replicates of one effect", 1, "frameworks")
    if pooled.verdict != UNDECIDED:
        return pooled
    return replace(pooled, needed=None, reason="the frameworks disagree: see each framework's verdict")


def judge_claim(claim: Claim, facts: RunFacts) -> Judged:
    """``claim`` in every framework that ran its networks, then pooled; ``not run`` when a network is missing."""
    networks = {job.network for job in facts.jobs}
    missing = [n for n in (claim.network, claim.versus) if n and n != CHANCE and n not in networks]
    if missing:
        return Judged(claim, (Verdict(POOLED, NOT_RUN, reason=f"{', '.join(missing)} not in this run"),))
    frameworks = sorted({job.framework for job in facts.jobs if job.network == claim.network})
    verdicts = [_scope(claim, framework, facts, [job for job in facts.jobs if job.framework == framework])
                for framework in frameworks]
    if claim.metric in TIMED:
        pooled = _pooled_timing(claim, verdicts)
    else:
        pooled = _scope(claim, POOLED, facts, list(facts.jobs))
    return Judged(claim, (*verdicts, pooled))


def judge(facts: RunFacts) -> list[Judged]:
    """Every finding of the run, judged."""
    return [judge_claim(claim, facts) for claim in facts.claims]
