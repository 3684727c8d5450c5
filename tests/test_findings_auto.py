"""``harness run --seeds auto --budget``: seeds are added while a finding is open, within the budget."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import main
from harness.findings.adapter import RunFacts
from harness.findings.auto import first_seeds, parse_budget, seeds_until_decided
from harness.findings.sequential import SequentialRule
from harness.results import read_run
from run_support import harness_run, write_spec
from test_findings_sequential import facts_with


def test_budgets_read_as_durations() -> None:
    assert [parse_budget(text) for text in ("2h", "90m", "300s", "45", "1.5h")] == [7200, 5400, 300, 45, 5400]
    for bad in ("", "2 days", "-1h", "0"):
        with pytest.raises(ValueError):
            parse_budget(bad)
    result = CliRunner().invoke(main, ["run", "x.yaml", "--seeds", "auto", "--budget", "soon"])
    assert result.exit_code == 2 and "'soon' is not a duration such as 2h" in result.output


class FakeRun:
    """``execute`` for :func:`seeds_until_decided`: each seed adds paired accuracies and 100 s of clock."""

    def __init__(self, gap: float) -> None:
        self.now, self.gap, self.calls = 0.0, gap, []

    def execute(self, seeds: list[int], again: bool) -> FakeResults:
        self.calls.append((list(seeds), again))
        self.now += 100.0 * (len(seeds) - (len(self.calls[-2][0]) if len(self.calls) > 1 else 0))
        base = [0.970, 0.975, 0.968, 0.973, 0.971, 0.969, 0.974, 0.972, 0.970, 0.976][:len(seeds)]
        noise = [0.004, -0.004, 0.003, -0.002, 0.001, -0.003, 0.002, -0.001, 0.0, 0.003][:len(seeds)]
        facts = facts_with({"s:a": base, "s:b": [a + self.gap + n for a, n in zip(base, noise)]})
        return FakeResults(facts)


class FakeResults:
    """Stands in for RunResults: the facts the adapter would give, and the notes."""

    def __init__(self, facts: RunFacts) -> None:
        self.facts, self.notes = facts, []


@pytest.fixture
def fake_facts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let the fake results through the adapter unchanged."""
    monkeypatch.setattr("harness.findings.auto.facts", lambda results: results.facts)


def test_seeds_are_added_until_the_finding_is_decided(fake_facts: None) -> None:
    run = FakeRun(gap=0.02)
    results = seeds_until_decided(run.execute, 0, budget_seconds=10_000, rule=SequentialRule(max_seeds=10),
                                  clock=lambda: run.now)
    assert run.calls[0] == ([0, 1], False) and all(again for _, again in run.calls[1:])
    assert 2 < len(run.calls[-1][0]) < 10
    assert "every accuracy finding is decided" in results.notes[0]


def test_the_budget_and_the_rules_maximum_stop_an_undecidable_finding(fake_facts: None) -> None:
    run = FakeRun(gap=0.0)
    results = seeds_until_decided(run.execute, 3, budget_seconds=450, clock=lambda: run.now)
    assert run.calls[-1][0] == [3, 4, 5, 6] and "would overrun the budget of 450 s" in results.notes[0]
    run = FakeRun(gap=0.0)
    results = seeds_until_decided(run.execute, 0, budget_seconds=1e9, rule=SequentialRule(max_seeds=5),
                                  clock=lambda: run.now)
    assert run.calls[-1][0] == [0, 1, 2, 3, 4] and "1 of 1 comparisons stay undecided at the rule's maximum of 5 seeds" in results.notes[0]
    assert first_seeds(7) == [7, 8]


def test_harness_run_seeds_auto_runs_the_first_seeds_and_says_why_it_stopped(tmp_path: Path, fake_plugin: None) -> None:
    out = tmp_path / "out"
    code, output = harness_run(str(write_spec(tmp_path)), "--framework", "fake", "--seeds", "auto", "--budget", "1h",
                               "--out", str(out))
    assert code == 0, output
    run = read_run(out / "results.json")
    assert [(job.seed, job.status) for job in run.jobs] == [(0, "ok"), (1, "ok")]
    assert any("--seeds auto ran seeds 0-1 and stopped: no accuracy finding compares two networks" in note
               for note in run.notes)
