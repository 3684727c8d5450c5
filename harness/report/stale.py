"""Committed reports whose producing code has changed since they were made.

A report was made at the commit its jobs recorded (``environment.git_commit``). It is *stale* when
a tracked file that can alter its results differs between that commit and the checkout's working
tree (``git diff --name-only COMMIT``: later commits and uncommitted edits both count). Files that
can alter results: everything under ``harness/`` and ``plugins/``, every ``pyproject.toml`` (what it
installs: not the test tools' settings under ``[tool.*]`` nor the ``test`` extra, see
:func:`installs_differently`), and the report's own spec files; except those that cannot:
documentation (``*.md``, ``*.rst``, ``docs/``), tests (``tests/`` folders, ``harness/testing/``),
and the code that only reads finished results (report rendering and comparison in
``harness/report/``, ``harness report``, ``compare`` and ``export`` and the export formats, and the
size budgets). The findings (``harness/findings/``) alter a run only through ``--seeds auto`` (how
many seeds it runs): they count for such a run alone. A report with no recorded commit, or one this
checkout's history does not hold (a shallow clone), cannot be checked and is listed as such.
"""

from __future__ import annotations

import shlex
import subprocess
import tomllib
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from harness.results import RunResults

CAN_ALTER = ("harness", "plugins", "pyproject.toml")
CANNOT_ALTER = ("**/*.md", "**/*.rst", "docs/**", "**/tests/**", "harness/testing/**", "harness/report/**",
                "harness/commands/report.py", "harness/commands/compare.py", "harness/commands/export.py",
                "harness/export.py", "harness/budgets.py")
"""Git glob pathspecs, excluded from :data:`CAN_ALTER`."""
SEQUENTIAL_ONLY = ("harness/findings/**",)
"""Code that alters a run only when the run chose its seeds with it (``--seeds auto``): analysis otherwise."""
TEST_ONLY_TOOLS = ("pytest", "coverage", "mypy", "ruff")
"""``[tool.*]`` tables of a ``pyproject.toml`` that configure the test and lint tools only."""
TEST_ONLY_EXTRAS = ("test",)
"""Optional dependencies that install the test tools only."""
SHOWN = 5
"""Changed files named per stale report; the rest are counted."""


class StaleError(RuntimeError):
    """The staleness of reports cannot be told (no git, or the folder is not in a checkout)."""


@dataclass(frozen=True)
class Staleness:
    """One report: the commit it was made at, and the files changed since that can alter its results."""

    report: Path
    commit: str | None
    changed: list[str]
    problem: str | None = None

    @property
    def stale(self) -> bool:
        return bool(self.changed) or self.problem is not None

    def describe(self, since: str | None = None) -> str:
        made = (f"since {since}" if since else f"made at {self.commit[:10]}") if self.commit else "no commit recorded"
        if self.problem:
            return f"{self.report}: {made}; {self.problem}"
        if not self.changed:
            return f"{self.report}: {made}; up to date"
        named = ", ".join(self.changed[:SHOWN]) + (f" and {len(self.changed) - SHOWN} more" if len(self.changed) > SHOWN else "")
        return f"{self.report}: {made}; {len(self.changed)} file(s) that can alter its results changed: {named}"


def _git(root: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(["git", "-C", str(root), *arguments], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        raise StaleError(f"git could not be run in {root} ({exc}). Fix: run this in a git checkout of the harness.") from exc


def checkout_root(folder: Path) -> Path:
    """The top of the git checkout that holds ``folder``."""
    found = _git(folder, "rev-parse", "--show-toplevel")
    if found.returncode != 0:
        raise StaleError(f"{folder} is not inside a git checkout, so its report's age cannot be told. "
                         "Fix: pass report folders of a git checkout of the harness.")
    return Path(found.stdout.strip())


def report_commit(run: RunResults) -> str | None:
    """The commit the run's jobs recorded (the first job's, when they differ)."""
    commits = [job.environment.git_commit for job in run.jobs if job.environment is not None and job.environment.git_commit]
    return commits[0] if commits else None


def seeds_chosen_by_findings(run: RunResults) -> bool:
    """Whether ``run`` was made with ``--seeds auto``, so the findings decided how many seeds it ran."""
    words = shlex.split(run.command) if run.command else []
    return "--seeds=auto" in words or ("--seeds", "auto") in pairwise(words)


def pathspecs(run: RunResults) -> list[str]:
    """The git pathspecs of the files that can alter ``run``'s results (see the module's rule)."""
    excluded = CANNOT_ALTER + (() if seeds_chosen_by_findings(run) else SEQUENTIAL_ONLY)
    return [*CAN_ALTER, *run.specs, *(f":(exclude,glob){pattern}" for pattern in excluded)]


def staleness(folder: Path, run: RunResults, since: str | None = None) -> Staleness:
    """Whether the report in ``folder`` (its run ``run``) is stale in the checkout that holds it: changed
    since the commit it was made at, or since ``since`` (a git revision: a pull request's base)."""
    root = checkout_root(folder)
    commit = since or report_commit(run)
    if commit is None:
        return Staleness(folder, None, [], "its jobs recorded no commit, so it cannot be checked")
    if _git(root, "cat-file", "-e", f"{commit}^{{commit}}").returncode != 0:
        return Staleness(folder, commit, [], f"{commit} is not in this checkout's history (fetch it: git fetch --unshallow)")
    diff = _git(root, "diff", "--name-only", commit, "--", *pathspecs(run))
    if diff.returncode != 0:
        raise StaleError(f"git diff in {root} failed: {diff.stderr.strip()}")
    changed = [path for path in diff.stdout.split() if Path(path).name != "pyproject.toml"
               or installs_differently(root, commit, path)]
    return Staleness(folder, commit, sorted(changed))


def _installed_part(text: str) -> object:
    """What of a ``pyproject.toml`` decides what is installed: all but the test tools' settings and
    extras; text that is not TOML is taken whole."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return text
    for name in TEST_ONLY_TOOLS:
        document.get("tool", {}).pop(name, None)
    for name in TEST_ONLY_EXTRAS:
        document.get("project", {}).get("optional-dependencies", {}).pop(name, None)
    return document


def installs_differently(root: Path, commit: str, path: str) -> bool:
    """Whether the ``pyproject.toml`` at ``path`` installs something other than it did at ``commit``
    (a file added or removed since counts)."""
    before = _git(root, "show", f"{commit}:{path}")
    now = root / path
    if before.returncode != 0 or not now.is_file():
        return True
    return _installed_part(before.stdout) != _installed_part(now.read_text(encoding="utf-8"))
