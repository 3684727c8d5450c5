"""`harness report --stale`: a report is stale when code that can alter its results changed since its
commit; docs, tests and report rendering do not count (a throwaway git checkout in tmp_path)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from report_support import sample_run, write_run

from harness.cli import main

REPO = Path(__file__).resolve().parents[1]
FILES = ("harness/runner/worker.py", "harness/findings/verdicts.py", "harness/report/plots.py", "harness/commands/compare.py", "docs/timing.md",
         "plugins/torch/harness_torch/build.py", "plugins/torch/tests/test_x.py", "plugins/torch/README.md",
         "specs/lenet.yaml", "specs/other.yaml", "pyproject.toml", "tests/test_y.py")


def git(root: Path, *arguments: str) -> str:
    return subprocess.run(["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t", *arguments],
                          capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A checkout with every kind of file committed, and a report made at that commit."""
    root = tmp_path / "repo"
    for name in FILES:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("first\n")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "first")
    commit = git(root, "rev-parse", "HEAD")
    run = sample_run(epochs=1, samples=20)
    for job in run.jobs:
        job.environment = job.environment.model_copy(update={"git_commit": commit})
    write_run(run, root / "reports" / "lenet")
    (root / "reports" / "README.md").write_text("# Reports\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "the report")
    return root


def stale(root: Path):
    return CliRunner().invoke(main, ["report", "--stale", str(root / "reports" / "lenet"), str(root / "reports" / "README.md")])


def test_a_fresh_report_is_up_to_date_and_docs_tests_and_rendering_do_not_count(checkout: Path) -> None:
    outcome = stale(checkout)
    assert outcome.exit_code == 0, outcome.output
    assert "up to date" in outcome.stdout
    for name in ("harness/report/plots.py", "harness/commands/compare.py", "docs/timing.md", "plugins/torch/tests/test_x.py",
                 "plugins/torch/README.md", "specs/other.yaml", "tests/test_y.py"):
        (checkout / name).write_text("changed\n")
    git(checkout, "commit", "-qam", "changes that cannot alter the report's results")
    outcome = stale(checkout)
    assert outcome.exit_code == 0 and "up to date" in outcome.stdout, outcome.output


@pytest.mark.parametrize("name", ["harness/runner/worker.py", "plugins/torch/harness_torch/build.py", "specs/lenet.yaml",
                                  "pyproject.toml"])
def test_a_change_that_can_alter_results_makes_it_stale_committed_or_not(checkout: Path, name: str) -> None:
    (checkout / name).write_text("changed\n")
    outcome = stale(checkout)
    assert outcome.exit_code == 1
    assert f"1 file(s) that can alter its results changed: {name}" in outcome.stdout
    git(checkout, "commit", "-qam", "a change")
    assert stale(checkout).exit_code == 1
    # A pull request's view: changed since its base, not since the report's commit.
    since = CliRunner().invoke(main, ["report", "--stale", "--since", "HEAD", str(checkout / "reports" / "lenet")])
    assert since.exit_code == 0 and "since HEAD; up to date" in since.stdout, since.output
    since = CliRunner().invoke(main, ["report", "--stale", "--since", "HEAD~1", str(checkout / "reports" / "lenet")])
    assert since.exit_code == 1 and f"since HEAD~1; 1 file(s) that can alter its results changed: {name}" in since.stdout


PYPROJECT = """[project]
name = "harness"
dependencies = ["numpy>=1.26"]

[project.optional-dependencies]
test = ["pytest>=8"]

[tool.pytest.ini_options]
addopts = "-ra"
"""


def test_a_pyproject_counts_for_what_it_installs_not_for_the_test_tools(checkout: Path) -> None:
    (checkout / "pyproject.toml").write_text(PYPROJECT)
    git(checkout, "commit", "-qam", "a real pyproject")
    with_xdist = PYPROJECT.replace('"pytest>=8"', '"pytest>=8", "pytest-xdist>=3.5"').replace('"-ra"', '"-ra -n 2"')
    (checkout / "pyproject.toml").write_text(with_xdist)
    outcome = CliRunner().invoke(main, ["report", "--stale", "--since", "HEAD", str(checkout / "reports" / "lenet")])
    assert outcome.exit_code == 0 and "up to date" in outcome.stdout, outcome.output
    (checkout / "pyproject.toml").write_text(with_xdist.replace("numpy>=1.26", "numpy>=2"))
    outcome = CliRunner().invoke(main, ["report", "--stale", "--since", "HEAD", str(checkout / "reports" / "lenet")])
    assert outcome.exit_code == 1 and "changed: pyproject.toml" in outcome.stdout, outcome.output


def test_the_findings_count_only_for_a_run_whose_seeds_they_chose(checkout: Path) -> None:
    (checkout / "harness/findings/verdicts.py").write_text("changed\n")
    outcome = stale(checkout)
    assert outcome.exit_code == 0 and "up to date" in outcome.stdout, outcome.output
    run = sample_run(epochs=1, samples=20)
    commit = git(checkout, "rev-parse", "HEAD")
    for job in run.jobs:
        job.environment = job.environment.model_copy(update={"git_commit": commit})
    run.command = "harness run specs/lenet.yaml --seeds auto --budget 2h"
    write_run(run, checkout / "reports" / "lenet")
    outcome = stale(checkout)
    assert outcome.exit_code == 1 and "changed: harness/findings/verdicts.py" in outcome.stdout, outcome.output


def test_an_unknown_commit_is_listed_and_a_folder_outside_git_is_refused(checkout: Path, tmp_path: Path) -> None:
    run = sample_run(epochs=1, samples=20)
    for job in run.jobs:
        job.environment = job.environment.model_copy(update={"git_commit": "0" * 40})
    write_run(run, checkout / "reports" / "lenet")
    outcome = stale(checkout)
    assert outcome.exit_code == 1 and "not in this checkout's history" in outcome.stdout
    outside = tmp_path / "outside"
    write_run(run, outside)
    refused = CliRunner().invoke(main, ["report", "--stale", str(outside)])
    assert refused.exit_code == 2 and "not inside a git checkout" in refused.output


def test_the_committed_reports_are_checked() -> None:
    outcome = CliRunner().invoke(main, ["report", "--stale", *map(str, sorted((REPO / "reports").iterdir()))])
    assert outcome.exit_code in (0, 1), outcome.output
    lines = outcome.stdout.splitlines()
    assert len(lines) == len(list((REPO / "reports").glob("*/results.json")))
    assert all(" made at " in line for line in lines)


def test_report_still_writes_one_report_at_a_time(checkout: Path) -> None:
    outcome = CliRunner().invoke(main, ["report", str(checkout / "reports" / "lenet"), str(checkout / "reports" / "lenet")])
    assert outcome.exit_code == 2 and "one report at a time" in outcome.output


def test_the_reports_readme_gives_each_reports_commit_and_real_paths() -> None:
    """Every committed report has an index row naming the commit its jobs recorded; every
    `reports/NAME` the README mentions exists."""
    import json
    import re

    readme = (REPO / "reports" / "README.md").read_text(encoding="utf-8")
    for results in sorted((REPO / "reports").glob("*/results.json")):
        commits = {job["environment"]["git_commit"] for job in json.loads(results.read_text())["jobs"] if job.get("environment")}
        name = results.parent.name
        row = re.search(rf"^\| \[{name}\]\({name}/report\.md\) \| ([0-9a-f]{{7,40}}) \|", readme, re.MULTILINE)
        assert row is not None, f"no index row with a commit for {name}"
        assert any(commit.startswith(row.group(1)) for commit in commits), (name, row.group(1), commits)
    for mentioned in set(re.findall(r"\breports/([a-z0-9_.]+[a-z0-9])", readme)):
        assert (REPO / "reports" / mentioned).exists(), f"reports/README.md mentions reports/{mentioned}, which does not exist"
