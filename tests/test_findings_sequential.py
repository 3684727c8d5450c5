"""The sequential rule behind ``--seeds auto``: honest under repeated looks on simulated null data."""

from __future__ import annotations

import numpy as np
import pytest

from harness.findings.adapter import JobFacts, RunFacts
from harness.findings.claims import Claim
from harness.findings.power import CONTRADICTED, HOLDS, UNDECIDED
from harness.findings.sequential import (
    CONTINUE,
    SequentialRule,
    run_until_decided,
    seeds_within,
    sequential_verdicts,
    wants_another_seed,
)

REPLICATIONS = 2_000


def false_decisions(rule: SequentialRule, seed: int) -> float:
    """Share of simulated runs on identical networks (paired differences ~ N(0, 1)) that decide anything."""
    rng = np.random.default_rng(seed)
    decided = 0
    for _ in range(REPLICATIONS):
        draws = iter(rng.standard_normal(rule.max_seeds))
        verdict, _ = run_until_decided(rule, lambda: float(next(draws)), "higher")
        decided += verdict in (HOLDS, CONTRADICTED)
    return decided / REPLICATIONS


def test_false_decision_rate_on_identical_networks_stays_at_or_below_alpha() -> None:
    rule = SequentialRule(alpha=0.05, min_seeds=2, max_seeds=10)
    rate = false_decisions(rule, seed=20261206)
    assert rate <= rule.alpha, f"{rate:.3f} false decisions in {REPLICATIONS:,} null runs"


def test_the_naive_rule_a_t_test_after_every_seed_is_not_honest() -> None:
    """The same simulation with the full alpha spent at every look: the rate exceeds alpha, so the test
    above can fail and the split is what keeps it honest."""
    naive = SequentialRule(alpha=0.05 * 9, min_seeds=2, max_seeds=10)  # alpha / 9 looks = 0.05 per look
    assert naive.look_alpha == pytest.approx(0.05)
    assert false_decisions(naive, seed=20261206) > 0.05


def test_a_real_effect_is_decided_before_the_budget_ends() -> None:
    rng = np.random.default_rng(1)
    rule = SequentialRule(max_seeds=10)
    verdicts = []
    for _ in range(200):
        draws = iter(rng.normal(2.0, 1.0, rule.max_seeds))
        verdicts.append(run_until_decided(rule, lambda: float(next(draws)), "higher")[0])
    assert verdicts.count(HOLDS) / len(verdicts) > 0.9
    assert CONTRADICTED not in verdicts


def test_the_rule_continues_then_gives_up_at_its_maximum() -> None:
    rule = SequentialRule(min_seeds=3, max_seeds=4)
    assert rule.decide([0.1, -0.1], "higher") == CONTINUE
    assert rule.decide([0.1, -0.1, 0.05], "higher") == CONTINUE
    assert rule.decide([0.1, -0.1, 0.05, 0.0], "higher") == UNDECIDED
    with pytest.raises(ValueError):
        rule.decide([0.0] * 5, "higher")
    with pytest.raises(ValueError):
        SequentialRule(min_seeds=1)


def test_a_budget_affords_whole_seeds() -> None:
    assert seeds_within(7200, 1000) == 7
    assert seeds_within(100, 1000) == 0


def facts_with(accuracies: dict[str, list[float]]) -> RunFacts:
    jobs = tuple(JobFacts(network=network, framework="torch", seed=seed, status="ok", classes=10, test_size=10_000,
                          train_losses=(0.3,), test_losses=(0.2,), accuracy=value, params=None, step_rounds=(),
                          latency_rounds=(), timing_flags=())
                 for network, values in accuracies.items() for seed, value in enumerate(values))
    claim = Claim(spec="s", index=0, claim="b beats a", metric="test_accuracy", network="s:b", versus="s:a", value=None,
                  direction="higher", published=0.003, margin=None, source="a paper")
    return RunFacts(jobs, {}, (claim,), "the test")


def test_a_run_asks_for_another_seed_until_its_comparisons_are_decided() -> None:
    rule = SequentialRule(max_seeds=6)
    open_ = sequential_verdicts(facts_with({"s:a": [0.98, 0.981], "s:b": [0.983, 0.980]}), rule)
    assert open_ == {("s#1", "torch"): CONTINUE} and wants_another_seed(open_)
    clear = [0.97, 0.971, 0.969, 0.970, 0.972, 0.971]
    decided = sequential_verdicts(facts_with({"s:a": clear, "s:b": [v + 0.02 for v in clear]}), rule)
    assert decided == {("s#1", "torch"): HOLDS} and not wants_another_seed(decided)
    untrained = sequential_verdicts(facts_with({"s:a": [0.1, 0.11], "s:b": [0.98, 0.97]}), rule)
    assert untrained == {("s#1", "torch"): UNDECIDED}
