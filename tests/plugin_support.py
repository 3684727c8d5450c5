"""Shared by the plugin tests: installing out-of-tree plugins the way a third party would.

A plugin reaches the harness only through an entry point of the ``harness`` group, so every test
here installs one: the numpyref fixture package really, with ``pip install --target`` into a
temporary folder put on ``PYTHONPATH``; small fake plugins by writing their module and a
``*.dist-info`` folder (METADATA + entry_points.txt) into a temporary folder on ``sys.path``.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.hookspecs import ENTRY_POINT_GROUP

ROOT = Path(__file__).resolve().parents[1]
NUMPYREF_SOURCE = ROOT / "tests" / "fixtures" / "numpyref"
FRAMEWORK_MODULES = ("tensorflow", "keras", "torch", "paddle", "jax", "flax", "optax")
HARNESS_COMMAND = "import sys; from harness.cli import main; sys.argv[0] = 'harness'; main()"


def install_numpyref(target: Path, scratch: Path) -> None:
    """``pip install --no-deps --target TARGET`` the numpyref fixture (from a copy, so the source stays clean)."""
    source = scratch / "numpyref-source"
    shutil.copytree(NUMPYREF_SOURCE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
         "--target", str(target), str(source)],
        check=True, capture_output=True, text=True,
    )


@pytest.fixture(scope="session")
def numpyref_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the installed numpyref plugin (put it on PYTHONPATH to use it)."""
    target = tmp_path_factory.mktemp("numpyref-site")
    install_numpyref(target, tmp_path_factory.mktemp("numpyref-build"))
    return target


def write_plugin(site: Path, distribution: str, entry_points: dict[str, str], modules: dict[str, str], version: str = "1.0") -> None:
    """Write modules and a dist-info declaring ``entry_points`` (name -> module) in the ``harness`` group."""
    for name, source in modules.items():
        (site / f"{name}.py").write_text(source)
    dist = site / f"{distribution.replace('-', '_')}-{version}.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {distribution}\nVersion: {version}\n")
    lines = "".join(f"{name} = {target}\n" for name, target in entry_points.items())
    (dist / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{lines}")


def site_entry_points(*sites: Path) -> list[importlib.metadata.EntryPoint]:
    """The ``harness`` entry points of the distributions installed in ``sites``."""
    return [
        entry_point
        for dist in importlib.metadata.distributions(path=[str(site) for site in sites])
        for entry_point in dist.entry_points
        if entry_point.group == ENTRY_POINT_GROUP
    ]


def installed_entry_points(*names: str) -> list[importlib.metadata.EntryPoint]:
    """The really installed ``harness`` entry points called ``names``."""
    return [ep for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP) if ep.name in names]


def use_only(monkeypatch: pytest.MonkeyPatch, entry_points: list[importlib.metadata.EntryPoint], *sites: Path) -> None:
    """Make this process see only ``entry_points`` in the ``harness`` group (their modules importable from ``sites``)."""
    real = importlib.metadata.entry_points

    def entry_points_for(**selection: str) -> importlib.metadata.EntryPoints:
        if selection.get("group") == ENTRY_POINT_GROUP:
            return importlib.metadata.EntryPoints(entry_points)
        return real(**selection)

    for site in sites:
        monkeypatch.syspath_prepend(str(site))
    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points_for)


def environment(*sites: Path) -> dict[str, str]:
    """This process's environment with ``sites`` first on PYTHONPATH (for subprocesses and workers)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(site) for site in sites] + [p for p in [env.get("PYTHONPATH")] if p])
    return env


def use_only_sites(monkeypatch: pytest.MonkeyPatch, *sites: Path) -> None:
    """Make the plugins installed in ``sites`` the only ``harness`` plugins, in this process and in
    its workers (``sites`` first on their PYTHONPATH)."""
    use_only(monkeypatch, site_entry_points(*sites), *sites)
    monkeypatch.setenv("PYTHONPATH", environment(*sites)["PYTHONPATH"])


needs_torch_plugin = pytest.mark.skipif(not installed_entry_points("torch"), reason="the torch plugin (harness-torch) is not installed")


def simulate_missing_torch(monkeypatch: pytest.MonkeyPatch, numpyref_site: Path) -> None:
    """Simulated uninstall of torch itself: torch's plugin and numpyref are the only plugins, and
    ``import torch`` fails in this process (workers find numpyref in ``numpyref_site``)."""
    use_only(monkeypatch, installed_entry_points("torch") + site_entry_points(numpyref_site), numpyref_site)
    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.setenv("PYTHONPATH", environment(numpyref_site)["PYTHONPATH"])


def run_harness(args: list[str], env: dict[str, str], cwd: Path = ROOT, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``harness ARGS`` in a subprocess."""
    return subprocess.run([sys.executable, "-c", HARNESS_COMMAND, *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def forget_modules() -> Iterator[list[str]]:
    """Names appended to the yielded list are dropped from ``sys.modules`` after the test."""
    names: list[str] = []
    yield names
    for name in names:
        sys.modules.pop(name, None)
    importlib.invalidate_caches()
