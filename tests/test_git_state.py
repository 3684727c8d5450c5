"""The commit and 'uncommitted changes' flag every job records: code counts, report outputs do not."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import harness
from harness.runner import measure


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git checkout with a harness package and a committed report, posing as the harness's own."""
    (tmp_path / "harness").mkdir()
    (tmp_path / "harness" / "__init__.py").write_text("")
    (tmp_path / "reports" / "old").mkdir(parents=True)
    (tmp_path / "reports" / "old" / "report.md").write_text("# old\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "c")
    monkeypatch.setattr(harness, "__file__", str(tmp_path / "harness" / "__init__.py"))
    return tmp_path


def test_a_removed_report_is_not_an_uncommitted_change(checkout: Path) -> None:
    (checkout / "reports" / "old" / "report.md").unlink()  # what reports/regenerate.sh does first
    commit, dirty = measure.git_state.__wrapped__()
    assert commit and len(commit) == 40 and dirty is False


def test_a_changed_source_file_is(checkout: Path) -> None:
    (checkout / "harness" / "__init__.py").write_text("x = 1\n")
    assert measure.git_state.__wrapped__()[1] is True
