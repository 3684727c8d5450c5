"""`harness compare`: large and significant changes are regressions, noise and small samples are not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from report_support import sample_run, write_run

from harness.cli import main
from harness.report.compare import (
    INSUFFICIENT, NOISY, P_THRESHOLD, REGRESSION, SAME, WITHIN_NOISE, compare_runs, judge, p_text, regressions,
    smallest_p_value, warnings,
)
from harness.results import Noise, RunResults, Timing

TARGET = ("lenet_stride2", "torch")


def step_samples(seed: int, count: int = 300, scale: float = 1.0) -> list[float]:
    """Step times from one seeded log-normal distribution around 6 ms."""
    rng = np.random.Generator(np.random.PCG64(seed))
    return list(scale * 6.0 * rng.lognormal(0.0, 0.08, count))


def with_steps(run: RunResults, samples: list[float]) -> RunResults:
    """``run`` with the target job's step-time samples replaced."""
    run = run.model_copy(deep=True)
    for job in run.jobs:
        if (job.network, job.framework) == TARGET:
            p10, p50, p90 = np.percentile(samples, [10, 50, 90])
            job.step_time = Timing(median_ms=p50, p10_ms=p10, p90_ms=p90, count=len(samples), samples_ms=samples)
    return run


def target_change(changes: list, metric: str = "step ms"):
    return next(c for c in changes if (c.network, c.framework, c.metric) == (*TARGET, metric))


@pytest.fixture(scope="module")
def old_run() -> RunResults:
    return with_steps(sample_run(epochs=3), step_samples(seed=1))


def test_a_30_percent_slower_step_is_a_regression(old_run: RunResults) -> None:
    new_run = with_steps(old_run, step_samples(seed=2, scale=1.3))
    change = target_change(compare_runs(old_run, new_run))
    assert change.verdict == REGRESSION
    assert change.ratio == pytest.approx(1.3, rel=0.05)
    assert change.p_value < P_THRESHOLD and change.interval[0] > 1.2
    assert [(c.network, c.framework, c.metric) for c in regressions(compare_runs(old_run, new_run))] == [(*TARGET, "step ms")]


def test_a_rerun_of_the_same_job_is_not_flagged(old_run: RunResults) -> None:
    rerun = with_steps(old_run, step_samples(seed=3))
    changes = compare_runs(old_run, rerun)
    assert target_change(changes).verdict == SAME
    assert regressions(changes) == []


def test_a_large_change_within_the_noise_is_marked_tilde() -> None:
    rng = np.random.Generator(np.random.PCG64(7))
    old = list(6.0 * rng.lognormal(0.0, 1.0, 12))
    new = [1.15 * value for value in old[::-1]]
    verdict = judge(old, new, "lower")
    assert verdict.ratio == pytest.approx(1.15)
    assert verdict.verdict == WITHIN_NOISE and verdict.p_value >= 0.002


def test_too_few_samples_are_insufficient_data_however_large_the_change() -> None:
    assert smallest_p_value(3, 3) == pytest.approx(0.1)
    verdict = judge([6.0, 6.1, 5.9], [9.0, 9.1, 8.9], "lower")
    assert verdict.verdict == INSUFFICIENT and verdict.ratio == pytest.approx(1.5)
    assert judge([], [6.0], "lower").verdict == INSUFFICIENT


def test_higher_accuracy_is_better_and_lower_is_worse() -> None:
    old = [0.98 + 0.001 * i for i in range(10)]
    assert judge(old, [v - 0.15 for v in old], "higher").verdict == REGRESSION
    assert judge(old, [v * 1.01 for v in old], "higher").verdict == SAME


def test_a_single_seed_accuracy_or_memory_change_is_insufficient_data(old_run: RunResults) -> None:
    new_run = old_run.model_copy(deep=True)
    for job in new_run.jobs:
        if (job.network, job.framework) == TARGET:
            job.peak_rss_mb = 2 * job.peak_rss_mb
    change = target_change(compare_runs(old_run, new_run), "memory MiB")
    assert change.verdict == f"{INSUFFICIENT} (n=1/1)"
    assert change.ratio == pytest.approx(2.0)


def test_a_job_that_stops_finishing_is_a_regression(old_run: RunResults) -> None:
    new_run = old_run.model_copy(deep=True)
    for job in new_run.jobs:
        if (job.network, job.framework) == TARGET:
            job.status, job.reason = "timeout", "killed after 600 s"
    change = target_change(compare_runs(old_run, new_run), "status")
    assert (change.old, change.new, change.verdict) == ("ok", "timeout", REGRESSION)


def test_jobs_only_in_one_run_are_listed(old_run: RunResults) -> None:
    new_run = old_run.model_copy(update={"jobs": [j for j in old_run.jobs if j.framework != "paddle"]})
    only = [c for c in compare_runs(old_run, new_run) if c.verdict == "only in OLD"]
    assert [(c.network, c.framework) for c in only] == [("lenet", "paddle"), ("lenet_stride2", "paddle")]


def test_the_command_exits_1_on_a_regression_and_0_on_a_rerun(old_run: RunResults, tmp_path: Path) -> None:
    old = write_run(old_run, tmp_path / "old")
    slower = write_run(with_steps(old_run, step_samples(seed=2, scale=1.3)), tmp_path / "slower")
    rerun = write_run(with_steps(old_run, step_samples(seed=3)), tmp_path / "rerun")
    runner = CliRunner()
    flagged = runner.invoke(main, ["compare", str(old), str(slower.parent)])
    assert flagged.exit_code == 1, flagged.output
    assert "1 regression(s)" in flagged.output and "lenet_stride2 · torch step ms" in flagged.output
    calm = runner.invoke(main, ["compare", str(old.parent), str(rerun)])
    assert calm.exit_code == 0, calm.output
    assert "no regression" in calm.output
    lenient = runner.invoke(main, ["compare", "--factor", "1.5", str(old), str(slower)])
    assert lenient.exit_code == 0, lenient.output


def test_markdown_output_is_a_verdict_and_a_pipe_table(old_run: RunResults, tmp_path: Path) -> None:
    old = write_run(old_run, tmp_path / "old")
    slower = write_run(with_steps(old_run, step_samples(seed=2, scale=1.3)), tmp_path / "slower")
    outcome = CliRunner().invoke(main, ["compare", "--markdown", str(old), str(slower)])
    assert outcome.exit_code == 1
    lines = outcome.output.splitlines()
    assert lines[0].startswith("### ❌ FAIL: speed and memory: 1 regression(s)")
    assert "known breaks" not in lines[0]  # the sample run's parity failure is in OLD too: shown, not failed
    assert any(line.startswith("| ⚠️ | parity | 1 of ") for line in lines)
    header = next(i for i, line in enumerate(lines) if line.startswith("| verdict "))
    assert [cell.strip() for cell in lines[header].split("|")[1:-1]] == [
        "verdict", "network", "framework", "metric", "old", "new", "new/old", "95% CI", "p"]
    assert lines[header + 1].startswith("|:--")
    assert any("lenet_stride2 · torch · step ms: 6.00 → 7.77" in line for line in lines)
    rows = [[cell.strip() for cell in line.split("|")[1:-1]] for line in lines[header + 2:] if line.startswith("|")]
    assert [row[:4] for row in rows if row[0] == "regression"] == [["regression", *TARGET, "step ms"]]
    assert ["insufficient data (n=0/0)", "lenet", "torch", "accuracy", "—", "—", "—", "—", "—"] in rows


def test_an_unreadable_file_exits_2_with_a_clear_message(old_run: RunResults, tmp_path: Path) -> None:
    old = write_run(old_run, tmp_path)
    outcome = CliRunner().invoke(main, ["compare", str(old), str(tmp_path / "missing.json")])
    assert outcome.exit_code == 2
    assert "missing.json: no such file" in outcome.output and "Traceback" not in outcome.output


def drifting_samples(seed: int, count: int = 600) -> list[float]:
    """Step times of one process on a shared machine: a slow load drift (hundreds of consecutive steps
    slowed together) on top of per-step jitter, both around 6 ms."""
    rng = np.random.Generator(np.random.PCG64(seed))
    drift = np.repeat(rng.lognormal(0.0, 0.25, count // 100), 100)
    return list(6.0 * drift * rng.lognormal(0.0, 0.05, count))


def test_identical_runs_on_a_drifting_machine_are_not_significant_over_rounds(old_run: RunResults) -> None:
    """Per-step samples of two identical runs differ 'significantly' because consecutive steps are
    correlated; rounds make the test honest (the p-value on raw steps is shown to be tiny)."""
    flagged_on_raw_steps = 0
    for seed in range(20):
        before, after = drifting_samples(2 * seed), drifting_samples(2 * seed + 1)
        change = target_change(compare_runs(with_steps(old_run, before), with_steps(old_run, after)))
        assert change.verdict != REGRESSION and change.verdict != "improvement", (seed, change)
        flagged_on_raw_steps += judge(before, after, "lower").verdict in (REGRESSION, "improvement")
    assert flagged_on_raw_steps >= 5


def test_a_step_change_in_noisy_jobs_is_never_a_regression(old_run: RunResults) -> None:
    new_run = with_steps(old_run, step_samples(seed=2, scale=1.3))
    for job in new_run.jobs:
        job.noise = Noise(flags=["busy: other processes used 40% of the machine's 2 cores"])
    change = target_change(compare_runs(old_run, new_run))
    assert change.verdict == NOISY and regressions(compare_runs(old_run, new_run)) == []
    assert any("busy machine" in warning for warning in warnings(old_run, new_run))


def test_tiny_p_values_are_written_as_a_bound_not_zero() -> None:
    assert p_text(0.0) == "< 1e-300" and p_text(1e-320) == "< 1e-300" and p_text(0.0123) == "0.012"


def test_runs_with_different_settings_are_warned_about(old_run: RunResults) -> None:
    other = old_run.model_copy(deep=True)
    other.settings = {**other.settings, "threads": 7}
    assert any("threads" in warning for warning in warnings(old_run, other))
