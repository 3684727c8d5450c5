"""Fixtures shared by the tests under tests/."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from run_support import FIXTURES


@pytest.fixture
def fake_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Install the fake plugin through an entry point, for this process and its workers."""
    site = tmp_path / "site"
    dist = site / "harness_run_fake-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: harness-run-fake\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[harness]\nrun_fake = run_fake_plugin\n")
    paths = [str(site), str(FIXTURES)]
    for path in reversed(paths):
        monkeypatch.syspath_prepend(path)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths + [os.environ.get("PYTHONPATH", "")]))
    yield
    sys.modules.pop("run_fake_plugin", None)
