"""Fixtures shared by the tests under tests/."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# pytest-xdist's workers start with COLUMNS=80, and the CLI's rich consoles, made at import, would keep
# that width for good: the tests see the width a plain pytest run gives them.
os.environ.pop("COLUMNS", None)
# The suite starts hundreds of harness processes and workers: with bytecode caching off (as on the
# development machine) each would compile the harness's modules anew, about 0.1 s of CPU apiece.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

from run_support import FIXTURES

from harness.runner.ray_embedded import prepare_environment, start_embedded

prepare_environment()  # before any test module imports Ray: the session's Ray stays on loopback, with a token


def fake_plugin_paths(folder: Path) -> list[str]:
    """Install the fake plugin's entry point under ``folder``; the paths that make it importable."""
    site = folder / "site"
    dist = site / "harness_run_fake-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: harness-run-fake\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[harness]\nrun_fake = run_fake_plugin\n")
    return [str(site), str(FIXTURES)]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow tests first (the order otherwise kept): under `make test`'s pytest-xdist workers the
    longest start early, and the short ones fill in around them instead of waiting on one at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(scope="session")
def ray_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One embedded Ray (2 CPUs) for the whole test session, its workers seeing the fake plugin.

    Ray's processes take the environment they start with, so the fake plugin's paths are put on
    PYTHONPATH for ``ray.init`` only; this process keeps its own (tests add the plugin with
    ``fake_plugin``). Ray's folder is short (its socket paths have a length limit). It is started
    as ``harness run`` starts its own: on loopback only, with token authentication.
    """
    ray = pytest.importorskip("ray")
    paths = fake_plugin_paths(tmp_path_factory.mktemp("ray-fake"))
    folder = tempfile.mkdtemp(prefix="hray", dir="/tmp")
    before = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(paths + ([before] if before else []))
    try:
        start_embedded(ray, num_cpus=2, _temp_dir=folder)
    finally:
        if before is None:
            os.environ.pop("PYTHONPATH")
        else:
            os.environ["PYTHONPATH"] = before
    yield
    ray.shutdown()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def fake_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Install the fake plugin through an entry point, for this process and its workers."""
    paths = fake_plugin_paths(tmp_path)
    for path in reversed(paths):
        monkeypatch.syspath_prepend(path)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths + [os.environ.get("PYTHONPATH", "")]))
    yield
    sys.modules.pop("run_fake_plugin", None)


@pytest.fixture(autouse=True)
def _frameworks_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """`harness frameworks` remembers its answers (harness/runner/info_cache.py): in a test's own
    folder, never the user's ~/.cache, and never one test's for another."""
    monkeypatch.setenv("HARNESS_FRAMEWORKS_CACHE", str(tmp_path_factory.mktemp("cache") / "frameworks.json"))
