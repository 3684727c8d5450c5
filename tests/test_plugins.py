"""The plugin contract: every hook, duplicate names, broken plugins, missing frameworks, `harness frameworks`.

Unit tests register plugin objects on a fresh plugin manager (each ``discover`` call makes a new
one, so nothing stays registered after a test); the rest install plugins through the entry-point
mechanism (a dist-info folder, or the numpyref fixture package) exactly as a third party would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pluggy
import pytest
from click.testing import CliRunner

from harness.cli import main
from harness.framework import Framework
from harness.hookspecs import hookimpl
from harness.plugins import PluginError, discover, new_manager, register_plugin, worker_environment
from harness.runner.child import LocalExecutor
from harness.runner.executor import run_all
from harness.runner.protocol import InfoRequest
from plugin_support import (
    FRAMEWORK_MODULES,
    environment,
    forget_modules,  # noqa: F401 - a fixture
    needs_torch_plugin,
    numpyref_site,  # noqa: F401 - a fixture
    simulate_missing_torch,
    site_entry_points,
    use_only,
    use_only_sites,
    write_plugin,
)


def framework_class(name: str) -> type[Framework]:
    """A framework class for registration tests (never instantiated)."""
    attributes = {"name": name, "display_name": name.title(), "module": "json", "distribution": "pluggy",
                  "install_hint": f"pip install {name}"}
    return type(f"{name.title()}Framework", (Framework,), attributes)


class Registers:
    """A plugin object whose hook registers the given classes."""

    def __init__(self, *classes: type[Framework]) -> None:
        self.classes = classes

    @hookimpl
    def harness_register_frameworks(self, register: Callable[[type[Framework]], None]) -> None:
        for cls in self.classes:
            register(cls)


# ------------------------------------------------------------------------------ harness_register_frameworks


def test_register_hook_registers_every_class_with_its_plugin() -> None:
    alpha, beta = framework_class("alpha"), framework_class("beta")
    discovery = discover(entry_points=False, plugins=[("two-frameworks", Registers(beta, alpha))])
    assert list(discovery.frameworks) == ["alpha", "beta"]
    assert discovery.frameworks["alpha"].framework is alpha
    assert discovery.frameworks["beta"].plugin == "two-frameworks"
    assert discovery.broken == []


def test_two_plugins_claiming_one_name_is_an_error_naming_both() -> None:
    first, second = framework_class("same"), framework_class("same")
    with pytest.raises(PluginError) as error:
        discover(entry_points=False, plugins=[("first-plugin", Registers(first)), ("second-plugin", Registers(second))])
    message = str(error.value)
    assert "'same'" in message and "first-plugin" in message and "second-plugin" in message
    assert f"{first.__module__}.{first.__qualname__}" in message


DUPLICATE = """
from harness.framework import Framework
from harness.hookspecs import hookimpl


class Twin(Framework):
    name = "twin"
    display_name = "Twin"
    module = "json"
    distribution = "pluggy"
    install_hint = "pip install harness-twin"


@hookimpl
def harness_register_frameworks(register):
    register(Twin)
"""


def test_frameworks_command_stops_on_two_installed_plugins_claiming_one_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forget_modules: list[str]
) -> None:
    write_plugin(tmp_path, "harness-twin-a", {"twin-a": "twin_a"}, {"twin_a": DUPLICATE})
    write_plugin(tmp_path, "harness-twin-b", {"twin-b": "twin_b"}, {"twin_b": DUPLICATE})
    forget_modules.extend(["twin_a", "twin_b"])
    use_only(monkeypatch, site_entry_points(tmp_path), tmp_path)
    result = CliRunner().invoke(main, ["frameworks"])
    assert result.exit_code == 1
    message = " ".join(result.stderr.split())
    assert "two plugins register the framework name 'twin'" in message
    assert "harness-twin-a" in message and "harness-twin-b" in message and "Traceback" not in result.output


def test_registering_something_that_is_not_a_framework_class_is_an_error() -> None:
    with pytest.raises(PluginError, match=r"not a subclass of harness\.framework\.Framework"):
        discover(entry_points=False, plugins=[("odd", Registers(dict))])  # type: ignore[arg-type]


def test_a_register_hook_that_raises_marks_only_its_plugin_broken() -> None:
    class Raises:
        @hookimpl
        def harness_register_frameworks(self, register: Callable[[type[Framework]], None]) -> None:
            raise RuntimeError("cannot read my configuration")

    discovery = discover(entry_points=False, plugins=[("raises", Raises()), ("fine", Registers(framework_class("fine")))])
    assert list(discovery.frameworks) == ["fine"]
    [broken] = discovery.broken
    assert broken.name == "raises" and "RuntimeError: cannot read my configuration" in broken.error


def test_a_misspelt_hook_is_rejected_by_check_pending() -> None:
    class Misspelt:
        @hookimpl
        def harness_register_framework(self, register: Callable[[type[Framework]], None]) -> None:
            """Missing the final 's'."""

    manager = new_manager()
    with pytest.raises(pluggy.PluginValidationError, match="harness_register_framework"):
        register_plugin(manager, Misspelt(), "misspelt")
    assert manager.get_plugin("misspelt") is None


# ------------------------------------------------------------------------------ harness_worker_environment


class Environment:
    def __init__(self, variables: dict[str, str], only: str | None = None) -> None:
        self.variables, self.only = variables, only

    @hookimpl
    def harness_worker_environment(self, framework: str, threads: int, device: str) -> dict[str, str] | None:
        if self.only is not None and framework != self.only:
            return None
        return {key: value.format(framework=framework, threads=threads, device=device) for key, value in self.variables.items()}


def test_worker_environment_hook_merges_every_plugin_last_registered_wins() -> None:
    discovery = discover(entry_points=False, plugins=[
        ("first", Environment({"SHARED": "first", "FIRST": "{framework}/{threads}/{device}"})),
        ("second", Environment({"SHARED": "second"})),
        ("other-framework-only", Environment({"OTHER": "1"}, only="other")),
    ])
    assert worker_environment(discovery.manager, "alpha", 3, "cpu") == {"SHARED": "second", "FIRST": "alpha/3/cpu"}
    assert worker_environment(discovery.manager, "other", 1, "cpu")["OTHER"] == "1"


ENV_PROBE = '''
import os
from harness.hookspecs import hookimpl
from harness_numpyref.framework import NumpyRef


class EnvProbe(NumpyRef):
    """numpyref that reports one environment variable as its device list."""

    name = "envprobe"

    def devices(self):
        return [os.environ.get("HARNESS_TEST_PROBE", "unset")]


@hookimpl
def harness_register_frameworks(register):
    register(EnvProbe)


@hookimpl
def harness_worker_environment(framework, threads):
    return {"HARNESS_TEST_PROBE": f"{framework} with {threads} thread(s)"} if framework == "envprobe" else None
'''


def test_worker_environment_reaches_the_worker(tmp_path: Path, numpyref_site: Path, monkeypatch: pytest.MonkeyPatch,
                                               forget_modules: list[str]) -> None:
    write_plugin(tmp_path, "env-probe", {"envprobe": "env_probe_plugin"}, {"env_probe_plugin": ENV_PROBE})
    forget_modules.append("env_probe_plugin")
    use_only_sites(monkeypatch, tmp_path, numpyref_site)
    [outcome] = run_all(LocalExecutor(discover()), [InfoRequest(framework="envprobe", threads=1)], timeout=120)
    assert outcome.status == "ok", outcome.error or outcome.output_tail
    assert outcome.result.devices == ["envprobe with 1 thread(s)"]


# ------------------------------------------------------------------------------ entry points and broken plugins

BROKEN_IMPORT = "raise ImportError('harness_broken needs libbroken.so, which is not installed')\n"
MISSPELT = textwrap.dedent('''
    from harness.hookspecs import hookimpl

    @hookimpl
    def harness_register_framewroks(register):
        pass
''')


def _broken_site(tmp_path: Path, forget_modules: list[str]) -> Path:
    site = tmp_path / "broken-site"
    site.mkdir()
    write_plugin(site, "harness-broken", {"broken": "broken_plugin"}, {"broken_plugin": BROKEN_IMPORT})
    write_plugin(site, "harness-misspelt", {"misspelt": "misspelt_plugin"}, {"misspelt_plugin": MISSPELT})
    forget_modules.extend(["broken_plugin", "misspelt_plugin"])
    return site


def test_a_plugin_that_fails_to_import_is_reported_and_the_others_work(
    tmp_path: Path, numpyref_site: Path, monkeypatch: pytest.MonkeyPatch, forget_modules: list[str]
) -> None:
    site = _broken_site(tmp_path, forget_modules)
    use_only(monkeypatch, site_entry_points(site, numpyref_site), site, numpyref_site)
    discovery = discover()
    assert list(discovery.frameworks) == ["numpyref"]
    assert discovery.frameworks["numpyref"].distribution == "harness-numpyref"
    broken = {plugin.name: plugin for plugin in discovery.broken}
    assert set(broken) == {"broken", "misspelt"}
    assert "broken = broken_plugin" in broken["broken"].where
    assert "ImportError: harness_broken needs libbroken.so" in broken["broken"].error
    assert broken["broken"].distribution == "harness-broken" and "harness-broken" in broken["broken"].fix
    assert "harness_register_framewroks" in broken["misspelt"].error


def test_frameworks_command_lists_broken_plugins_and_probes_the_others(
    tmp_path: Path, numpyref_site: Path, monkeypatch: pytest.MonkeyPatch, forget_modules: list[str]
) -> None:
    site = _broken_site(tmp_path, forget_modules)
    use_only(monkeypatch, site_entry_points(site, numpyref_site), site, numpyref_site)
    monkeypatch.setenv("PYTHONPATH", environment(numpyref_site)["PYTHONPATH"])
    result = CliRunner().invoke(main, ["frameworks", "--threads", "1", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    numpyref = rows["numpyref"]
    assert numpyref["status"] == "available" and numpyref["devices"] == ["cpu"]
    assert numpyref["distribution"] == "harness-numpyref" and numpyref["distribution_version"] == "0.3.0"
    assert numpyref["framework_version"]  # numpy's version, from metadata
    assert set(numpyref["thread_settings"].values()) == {1}
    assert rows["broken"]["status"] == "broken" and "libbroken.so" in rows["broken"]["reason"]
    for builtin in ("keras", "torch", "paddle"):
        assert rows[builtin]["status"] == "not installed"
        assert rows[builtin]["install"] == f"pip install -e plugins/{builtin}"
    table = CliRunner().invoke(main, ["frameworks", "--threads", "1"], env={"COLUMNS": "200"})
    assert table.exit_code == 0
    assert "libbroken.so" in table.stdout and "pip install -e plugins/torch" in table.stdout


@needs_torch_plugin
def test_frameworks_command_says_a_missing_framework_is_missing_and_how_to_install_it(
    numpyref_site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Simulated uninstall: torch's plugin is installed, torch itself cannot be found."""
    simulate_missing_torch(monkeypatch, numpyref_site)
    result = CliRunner().invoke(main, ["frameworks", "--threads", "1", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["torch"]["status"] == "unavailable"
    assert "'torch' is not installed" in rows["torch"]["reason"] and "pip install" in rows["torch"]["reason"]
    assert rows["numpyref"]["status"] == "available"


def test_discovery_imports_no_framework() -> None:
    """Loading every installed plugin, reading versions and availability imports no framework."""
    program = (
        "import json, sys\n"
        "from harness.plugins import discover\n"
        "d = discover()\n"
        "[(r.framework.version(), r.unavailable_reason()) for r in d.frameworks.values()]\n"
        f"print(json.dumps([m for m in {FRAMEWORK_MODULES!r} if m in sys.modules]))\n"
    )
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True, env=dict(os.environ))
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
