"""Verdicts and training outcomes: the committed E1 results, a contradicted claim, an underpowered one
with its seeds-needed figure against the closed-form power calculation, a claim not run, and speed."""

from __future__ import annotations

import json
import math
import time
from dataclasses import replace
from pathlib import Path

import pytest
from scipy import stats

from harness.findings import outcomes, power
from harness.findings.adapter import JobFacts, RunFacts, facts
from harness.findings.claims import Claim
from harness.findings.power import CONTRADICTED, HOLDS, UNDECIDED
from harness.findings.verdicts import NOT_RUN, POOLED, judge, judge_claim
from harness.report import write_report
from harness.report.findings_index import END, START, deciding_command, index_markdown
from harness.report.findings_index import main as index_main
from harness.results import ResultsFileError, read_run
from harness.spec.schema import Finding

ROOT = Path(__file__).resolve().parents[1]
E1 = ROOT / "tests" / "fixtures" / "e1_mobilenetv2_heads" / "results.json"


def job(network: str, seed: int, accuracy: float, framework: str = "torch", test_size: int = 10_000,
        step_rounds: tuple[float, ...] = ()) -> JobFacts:
    return JobFacts(network=network, framework=framework, seed=seed, status="ok", classes=10, test_size=test_size,
                    train_losses=(0.3,), test_losses=(0.2,), accuracy=accuracy, params=1000, step_rounds=step_rounds,
                    latency_rounds=(), timing_flags=())


def claim(**changes: object) -> Claim:
    fields: dict = dict(spec="s", index=0, claim="b beats a", metric="test_accuracy", network="s:b", versus="s:a",
                        value=None, direction="higher", published=None, margin=None, source="a paper")
    return Claim(**{**fields, **changes})


def run_of(*jobs: JobFacts, claims: tuple[Claim, ...] = ()) -> RunFacts:
    return RunFacts(tuple(jobs), {}, claims, "the test")


# ----------------------------------------------------------------------------- E1 as committed


@pytest.fixture(scope="module")
def e1(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunFacts, str]:
    out = tmp_path_factory.mktemp("e1")
    with pytest.MonkeyPatch.context() as patch:  # the results name their spec as specs/..., from the repository root
        patch.chdir(ROOT)
        write_report(E1, out)
        return facts(read_run(E1)), (out / "report.md").read_text(encoding="utf-8")


def test_every_flatten_job_diverged_and_no_gap_job(e1: tuple[RunFacts, str]) -> None:
    run, _ = e1
    kinds = {(j.network, j.framework): outcomes.outcome(j).kind for j in run.jobs}
    assert len(kinds) == 18
    for (network, _), kind in kinds.items():
        if "flatten" in network:
            assert kind in (outcomes.DIVERGED, outcomes.NOT_LEARNED), network
        else:
            assert kind != outcomes.DIVERGED, network
    assert {kind for (network, _), kind in kinds.items() if network == "mobilenetv2_heads:flatten"} == {outcomes.DIVERGED}


def test_e1_flatten_does_not_learn_holds_in_every_framework_and_the_report_says_so(e1: tuple[RunFacts, str]) -> None:
    run, markdown = e1
    judged = {item.claim.claim: item for item in judge(run)}
    finding = judged["Flatten does not learn at the GAP head's learning rate"]
    assert {v.scope: v.verdict for v in finding.verdicts} == {
        **{framework: HOLDS for framework in ("jax", "keras", "keras-jax", "keras-torch", "paddle", "torch")},
        POOLED: HOLDS}
    # GAP did not learn in this 128-image run either, so the accuracy comparison cannot be made: undecided, and why.
    gap_vs_flatten = judged["GAP is more accurate than Flatten at the same learning rate"]
    assert all(v.verdict == UNDECIDED and "not learned" in v.reason for v in gap_vs_flatten.verdicts)
    row = next(line for line in markdown.splitlines() if line.startswith("| Flatten does not learn"))
    assert row.count("holds: 1 diverged") == 6 and "holds: 6 diverged" in row
    assert "| mobilenetv2_heads:flatten " in markdown and "diverged" in markdown


# ----------------------------------------------------------------------------- verdicts


def test_a_claim_the_data_contradict_is_contradicted() -> None:
    jobs = [job("s:a", seed, 0.98 + 0.001 * seed) for seed in range(4)]
    jobs += [job("s:b", seed, 0.95 + 0.0012 * seed) for seed in range(4)]  # b is 3 points worse in every seed
    verdicts = judge_claim(claim(), run_of(*jobs)).verdicts
    assert [v.verdict for v in verdicts] == [CONTRADICTED, CONTRADICTED]
    torch = verdicts[0]
    assert torch.high < 0 and torch.effect == pytest.approx(-0.0298, abs=1e-4) and torch.n == 4
    assert "paired t-test" in torch.test


def test_pooled_frameworks_that_started_from_the_same_weights_count_one_replicate_per_seed() -> None:
    """Six frameworks from one shared start per seed are three replicates, not eighteen; with their own
    initialisers they are exchangeable, and the seeds needed are per framework."""
    differences = {0: 0.010, 1: 0.002, 2: 0.014}
    frameworks = ("jax", "keras", "paddle", "torch", "keras-jax", "keras-torch")
    runs = [job(network, seed, 0.90 + (differences[seed] + 0.0003 * index if network == "s:b" else 0.0), framework)
            for network in ("s:a", "s:b") for seed in differences for index, framework in enumerate(frameworks)]
    independent = judge_claim(claim(), run_of(*runs)).verdicts[-1]
    assert independent.n == 18 and independent.verdict == HOLDS and "exchangeable" in independent.assumptions
    shared = judge_claim(claim(), run_of(*(replace(one, same_start=True) for one in runs))).verdicts[-1]
    assert shared.n == 3 and shared.verdict == UNDECIDED and "one replicate per seed" in shared.assumptions
    assert shared.effect == pytest.approx(sum(differences.values()) / 3 + 0.0003 * 2.5)
    noisy = [job(network, seed, 0.90 + (0.002 + 0.01 * (-1) ** (index + seed) if network == "s:b" else 0.0), framework)
             for network in ("s:a", "s:b") for seed in differences for index, framework in enumerate(frameworks)]
    open_claim = judge_claim(claim(), run_of(*noisy)).verdicts[-1]
    assert open_claim.verdict == UNDECIDED and open_claim.reason == f"needs {open_claim.needed} seeds in each of its 6 frameworks"


def test_an_underpowered_claim_is_undecided_with_the_closed_form_seeds_needed() -> None:
    differences = [0.004, -0.003, 0.006, 0.001]
    jobs = [job("s:a", seed, 0.98) for seed in range(4)]
    jobs += [job("s:b", seed, 0.98 + d) for seed, d in enumerate(differences)]
    verdict = judge_claim(claim(), run_of(*jobs)).verdicts[0]
    assert verdict.verdict == UNDECIDED and verdict.low < 0 < verdict.high
    # Closed form (Guenther 1981) for a two-sided paired t-test at alpha 0.05 and power 0.8:
    # n = (z_(1-alpha/2) + z_(1-beta))^2 (s / delta)^2 + z_(1-alpha/2)^2 / 2, rounded up.
    delta, s = sum(differences) / 4, stats.tstd(differences)
    z_a, z_b = stats.norm.ppf(0.975), stats.norm.ppf(0.8)
    closed_form = math.ceil((z_a + z_b) ** 2 * (s / delta) ** 2 + z_a ** 2 / 2)
    assert abs(verdict.needed - closed_form) <= 1, (verdict.needed, closed_form)
    assert f"needs {verdict.needed} seeds" in verdict.reason
    # And exactly the smallest n whose noncentral-t power reaches 80%.
    assert power.power(verdict.needed, delta, s) >= 0.8 > power.power(verdict.needed - 1, delta, s)


@pytest.mark.parametrize(("delta", "s"), [(0.0027, 0.01), (0.01, 0.01), (0.2, 0.05), (1.0, 3.0)])
def test_seeds_needed_matches_the_closed_form_over_effect_sizes(delta: float, s: float) -> None:
    z_a, z_b = stats.norm.ppf(0.975), stats.norm.ppf(0.8)
    closed_form = (z_a + z_b) ** 2 * (s / delta) ** 2 + z_a ** 2 / 2
    assert abs(power.replicates_needed(delta, s) - math.ceil(closed_form)) <= 1


def test_one_seed_is_undecided_for_want_of_a_variance_and_a_missing_network_is_not_run() -> None:
    one = judge_claim(claim(), run_of(job("s:a", 0, 0.98), job("s:b", 0, 0.99))).verdicts[0]
    assert one.verdict == UNDECIDED and one.reason == "n=1: no variance to judge by; needs at least 2 seeds"
    missing = judge_claim(claim(versus="lenet"), run_of(job("s:b", 0, 0.99))).verdicts
    assert [(v.verdict, v.reason) for v in missing] == [(NOT_RUN, "lenet not in this run")]


def test_a_comparison_over_a_network_that_did_not_learn_is_undecided_for_that_reason() -> None:
    jobs = [job("s:a", seed, 0.11, test_size=1000) for seed in range(3)] + [job("s:b", seed, 0.9) for seed in range(3)]
    verdict = judge_claim(claim(), run_of(*jobs)).verdicts[0]
    assert verdict.verdict == UNDECIDED and verdict.reason == "not learned: a did not learn"


def test_timing_claims_use_rounds_and_leave_noisy_jobs_out() -> None:
    fast = [job("s:a", 0, 0.9, step_rounds=(10.0, 10.2, 9.9, 10.1, 10.0))]
    slow = [job("s:b", 0, 0.9, step_rounds=(14.4, 14.6, 14.5, 14.7, 14.3))]
    verdict = judge_claim(claim(metric="step_time", published=1.45), run_of(*fast, *slow)).verdicts[0]
    assert verdict.verdict == HOLDS and verdict.effect == pytest.approx(1.44, abs=0.01) and verdict.low > 1
    noisy = [JobFacts(**{**each.__dict__, "timing_flags": ("busy",)}) for each in (*fast, *slow)]
    undecided = judge_claim(claim(metric="step_time"), run_of(*noisy)).verdicts[0]
    assert undecided.verdict == UNDECIDED and "flagged by the noise rules" in undecided.reason
    partly = judge_claim(claim(metric="step_time"), run_of(*fast, *slow, noisy[1])).verdicts[0]
    assert partly.verdict == HOLDS and "1 noisy job(s) left out" in partly.assumptions


def test_same_claims_hold_inside_their_margin() -> None:
    jobs = [job("s:a", seed, 0.98 + 0.001 * seed) for seed in range(5)]
    jobs += [job("s:b", seed, 0.9801 + 0.001 * seed + 0.0002 * (-1) ** seed) for seed in range(5)]
    verdict = judge_claim(claim(direction="same", margin=0.005), run_of(*jobs)).verdicts[0]
    assert verdict.verdict == HOLDS


def test_outcomes_by_the_binomial_test_and_the_loss() -> None:
    assert outcomes.outcome(job("s:a", 0, 0.12, test_size=64)).kind == outcomes.NOT_LEARNED  # 8/64, p = 0.34
    assert outcomes.outcome(job("s:a", 0, 0.25, test_size=64)).kind == outcomes.LEARNED  # 16/64, p < 0.001
    assert outcomes.outcome(job("s:a", 0, 0.9)).reason == "9000/10000 correct (exact binomial p<1e-16 against chance)"
    diverged = JobFacts(**{**job("s:a", 0, 0.1).__dict__, "train_losses": (173.0,)})
    assert outcomes.outcome(diverged).kind == outcomes.DIVERGED
    nan = JobFacts(**{**job("s:a", 0, 0.1).__dict__, "test_losses": (math.nan,)})
    assert outcomes.outcome(nan).kind == outcomes.DIVERGED


def test_verdicts_add_under_a_second_to_the_report_of_the_largest_committed_results() -> None:
    largest = max((ROOT / "reports").glob("*/results.json"), key=lambda path: path.stat().st_size)
    run = read_run(largest)
    started = time.perf_counter()
    judge(facts(run))
    elapsed = time.perf_counter() - started
    assert elapsed < 1.0, f"{elapsed:.2f} s on {largest}"


def test_the_index_has_one_row_per_take_away_with_its_verdicts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    markdown = index_markdown([E1])
    row = next(line for line in markdown.splitlines() if "Flatten does not learn" in line)
    assert "[e1_mobilenetv2_heads](e1_mobilenetv2_heads/report.md)" in row
    assert row.count("| holds ") == 7  # six frameworks and pooled
    assert sum("| [e1_mobilenetv2_heads]" in line for line in markdown.splitlines()) == 5


def test_the_deciding_command_is_the_run_at_full_length_with_the_seeds_asked_for_on_a_cluster() -> None:
    run = read_run(E1)
    run.command = ("harness run specs/mobilenetv2_heads.yaml --variant gap --limit-train 128 --limit-test=64 --epochs 1 "
                   "--batch-size 16 --seeds 0,1 --threads 1 --framework all --quiet --out reports/mobilenetv2_heads")
    few = deciding_command("mobilenetv2_heads", run, 3)
    assert few == ("harness run specs/mobilenetv2_heads.yaml --variant gap --threads 1 --framework all --seeds auto --budget 24h "
                   "--executor ray --ray-address auto --out mobilenetv2_heads_decided")
    many = deciding_command("mobilenetv2_heads", run, 44)  # past the sequential rule's 10 seeds: a fixed list
    assert "--seeds $(seq -s, 0 43) " in many and "auto" not in many.split("--ray-address")[0]


def test_the_reports_readme_holds_the_index_of_the_committed_reports_as_regenerate_writes_it(tmp_path: Path,
                                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    committed = sorted(Path("reports").glob("*/results.json"))
    readme = (ROOT / "reports" / "README.md").read_text(encoding="utf-8")
    assert readme.split(START, 1)[1].split(END, 1)[0] == "\n" + index_markdown(committed)
    copy = tmp_path / "README.md"
    copy.write_text(f"# Reports\n\n{START}\nold\n{END}\n\nafter\n", encoding="utf-8")
    index_main(["--readme", str(copy), str(committed[0])])
    assert copy.read_text(encoding="utf-8") == f"# Reports\n\n{START}\n{index_markdown(committed[:1])}{END}\n\nafter\n"
    copy.write_text("# Reports without a block\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="no findings block"):
        index_main(["--readme", str(copy), str(committed[0])])


def test_findings_recorded_in_the_results_are_read_and_damaged_ones_refused_on_reading(tmp_path: Path) -> None:
    run = read_run(E1)
    good = Finding(claim="GAP learns", metric="learned", network="gap", direction="higher", source="a test")
    run.networks["mobilenetv2_heads:gap"].findings = [good]
    run.networks["mobilenetv2_heads:flatten"].findings = [good]
    recorded = facts(run)
    assert recorded.claims_from == "the results"
    assert [(c.network, c.metric) for c in recorded.claims] == [("mobilenetv2_heads:gap", "learned")]
    document = json.loads(run.model_dump_json())
    document["networks"]["mobilenetv2_heads:gap"]["findings"] = [{"claim": 5}]
    damaged = tmp_path / "results.json"
    damaged.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(ResultsFileError, match="findings"):
        read_run(damaged)
