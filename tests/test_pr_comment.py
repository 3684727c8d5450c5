"""`harness compare --markdown` as one pull-request comment: the verdict first, under GitHub's limit,
an exit status that gates a merge (committed result folders, planted breaks, a very large comparison)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from report_support import planted

from harness.cli import main
from harness.report import load_results
from harness.report.comment import COMMENT_LIMIT, render_comment, size
from harness.report.compare import compare_runs
from harness.report.verdict import FAIL, KNOWN, PASS, checks
from harness.results import RunResults

REPO = Path(__file__).resolve().parents[1]
SMALL = REPO / "reports" / "toy_cnn_224"
LARGE = REPO / "reports" / "mobilenetv2_heads"


def invoke(*arguments: str):
    return CliRunner().invoke(main, ["compare", "--markdown", *arguments])


def test_two_committed_folders_give_a_passing_comment_with_the_verdict_first() -> None:
    outcome = invoke(str(SMALL), str(SMALL))
    assert outcome.exit_code == 0, outcome.output
    comment = outcome.stdout
    assert size(comment) < COMMENT_LIMIT
    assert comment.splitlines()[0] == "### ✅ PASS: no new correctness break and no significant regression"
    assert "| ✅ | parity | 42 pair(s) agree |" in comment and "<details><summary>Every compared metric" in comment


def break_parity(data: dict) -> None:
    entry = data["parity"][3]
    entry.update(passed=False, max_abs=0.25, first_divergent_layer="conv_2")


def test_a_planted_parity_failure_fails_and_is_said_first(tmp_path: Path) -> None:
    broken = planted(tmp_path, SMALL, break_parity)
    outcome = invoke(str(SMALL), str(broken))
    assert outcome.exit_code == 1, outcome.output
    first = outcome.stdout.splitlines()[0]
    assert first.startswith("### ❌ FAIL: parity: 1 of 42 pair(s) broke")
    assert "| ❌ | parity | 1 of 42 pair(s) broke: toy_cnn_224:" in outcome.stdout and "first diverges at conv_2" in outcome.stdout
    plain = CliRunner().invoke(main, ["compare", str(SMALL), str(broken)])
    assert plain.exit_code == 1 and "correctness break: parity:" in plain.output
    # The same break in the base run is known: shown, and no longer a failure.
    again = invoke(str(broken), str(broken))
    assert again.exit_code == 0 and "| ⚠️ | parity | 1 of 42 pair(s) fail as in OLD" in again.stdout


def test_a_count_that_leaves_the_oracle_fails_before_anything_else(tmp_path: Path) -> None:
    def miscount(data: dict) -> None:
        break_parity(data)
        job = data["jobs"][0]
        job["params"]["total"] += 1
        data.pop("framework_params", None)
    broken = planted(tmp_path, SMALL, miscount)
    outcome = invoke(str(SMALL), str(broken))
    assert outcome.exit_code == 1
    assert outcome.stdout.splitlines()[0].startswith("### ❌ FAIL: parameters: 1 of 12 count(s) broke; parity:")


def many_networks(run: RunResults, copies: int) -> RunResults:
    """``run`` with every network repeated ``copies`` times under new names (a very large comparison)."""
    jobs = []
    for index in range(copies):
        for job in run.jobs:
            jobs.append(job.model_copy(update={"network": f"{job.network}_copy{index:03d}"}))
    networks = {f"{name}_copy{index:03d}": check for index in range(copies) for name, check in run.networks.items()}
    return run.model_copy(update={"jobs": jobs, "networks": networks, "framework_params": {}})


@pytest.fixture(scope="module")
def large_runs() -> tuple[RunResults, RunResults]:
    old = many_networks(load_results(LARGE), 60)
    new = old.model_copy(deep=True)
    for job in new.jobs[::7]:  # a job in every seventh stops finishing: hundreds of changes that matter
        job.status, job.reason = "timeout", "killed after 400 s"
    return old, new


def test_a_very_large_comparison_stays_under_the_limit_deterministically(large_runs) -> None:
    old, new = large_runs
    changes = compare_runs(old, new)
    assert len(changes) > 5000
    found = checks(old, new, changes)
    assert [check.outcome for check in found[:2]] == [PASS, PASS] and found[3].outcome == FAIL
    comment = render_comment("old/results.json", "new/results.json", found, changes, [], "the rule")
    assert COMMENT_LIMIT - 3000 < size(comment) < COMMENT_LIMIT  # filled, not past the limit
    assert comment.splitlines()[0].startswith("### ❌ FAIL: jobs and accuracy: ")
    assert "more table rows left out to stay under the comment's limit of 65,535 bytes (GitHub's: 65,536 characters)" in comment
    assert comment.rstrip().endswith("</details>")
    assert render_comment("old/results.json", "new/results.json", found, changes, [], "the rule") == comment
    shorter = render_comment("old/results.json", "new/results.json", found, changes, [], "the rule", max_chars=10_000)
    assert size(shorter) < 10_000 and "more lines left out" in shorter
    tiny = render_comment("old/results.json", "new/results.json", found, changes, [], "the rule", max_chars=1000)
    assert size(tiny) <= 1000 and tiny.splitlines()[0] == comment.splitlines()[0]


def test_known_breaks_are_named_in_a_passing_verdict(large_runs) -> None:
    old, _ = large_runs
    broken = old.model_copy(deep=True)
    broken.parity[0].passed = False
    changes = compare_runs(broken, broken)
    found = checks(broken, broken, changes)
    assert found[1].outcome == KNOWN and found[2].outcome == "not run"
    first = render_comment("a", "b", found, changes, [], "r").splitlines()[0]
    assert first == "### ✅ PASS: no new correctness break and no significant regression (known breaks, as in OLD: parity)"


def test_a_framework_that_no_longer_runs_fails_the_jobs_check(tmp_path: Path) -> None:
    def drop_torch(data: dict) -> None:
        data["jobs"] = [job for job in data["jobs"] if job["framework"] != "torch"]
    broken = planted(tmp_path, SMALL, drop_torch)
    outcome = invoke(str(SMALL), str(broken))
    assert outcome.exit_code == 1
    assert outcome.stdout.splitlines()[0] == "### ❌ FAIL: jobs and accuracy: 2 job group(s) missing from NEW"
    assert "- ❌ only in OLD: toy_cnn_224:flatten · torch · job: ok (1 job) → —" in outcome.stdout


def test_many_parity_breaks_are_all_listed_once(large_runs) -> None:
    old, _ = large_runs
    broken = old.model_copy(deep=True)
    for entry in broken.parity[:40]:
        entry.passed = False
    changes = compare_runs(old, broken)
    found = checks(old, broken, changes)
    comment = render_comment("a", "b", found, changes, [], "r")
    assert comment.splitlines()[0] == f"### ❌ FAIL: parity: 40 of {len(broken.parity)} pair(s) broke"
    assert "; 35 more below |" in comment and "**Every correctness break** (40)" in comment
    assert sum(line.startswith("- parity: ") for line in comment.splitlines()) == 40
