"""`harness params`: the out-of-tree numpyref plugin installed as a third party would, disagreeing
and crashing fakes, spec errors, missing frameworks, and a parent process free of frameworks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import main
from plugin_support import (
    FRAMEWORK_MODULES,
    ROOT,
    environment,
    forget_modules,  # noqa: F401 - a fixture
    needs_torch_plugin,
    numpyref_site,  # noqa: F401 - a fixture
    run_harness,
    simulate_missing_torch,
    use_only_sites,
    write_plugin,
)

LENET = str(ROOT / "specs" / "lenet_stride2.yaml")

FAKES = '''
from harness.framework import ParamCount
from harness.hookspecs import hookimpl
from harness_numpyref.framework import NumpyRef


class Miscount(NumpyRef):
    """Counts one parameter too few in the network's second layer."""

    name = "miscount"

    def count_params(self, model):
        counts = super().count_params(model)
        second = list(counts)[1]
        counts[second] = ParamCount(counts[second].trainable - 1, counts[second].non_trainable)
        return counts


class Crashy(NumpyRef):
    """Cannot build networks with a flatten head."""

    name = "crashy"

    def build(self, network):
        if network.spec.head.type == "flatten":
            raise RuntimeError("crashy cannot flatten")
        return super().build(network)


@hookimpl
def harness_register_frameworks(register):
    register(Miscount)
    register(Crashy)
'''

BAD_SPEC = """\
name: bad
title: bad
source: a test
classes: 10
input: [28, 28, 1]
backbone:
  - {type: conv, filters: 4, kernal: 3}
head: {type: flatten}
train: {optimizer: {name: sgd}}
dataset: {name: mnist}
"""


@pytest.fixture
def third_party(tmp_path: Path, numpyref_site: Path, monkeypatch: pytest.MonkeyPatch, forget_modules: list[str]) -> Path:
    """numpyref and the fakes as the only plugins, in this process and in its workers."""
    write_plugin(tmp_path, "harness-fakes", {"fakes": "params_fakes"}, {"params_fakes": FAKES})
    forget_modules.append("params_fakes")
    use_only_sites(monkeypatch, tmp_path, numpyref_site)
    return tmp_path


def invoke(*args: str):
    return CliRunner().invoke(main, ["params", *args, "--threads", "1"], env={"COLUMNS": "200"})


@pytest.mark.slow
def test_installed_out_of_tree_plugin_agrees_with_the_oracle(numpyref_site: Path) -> None:
    """The fixture package pip-installed into a folder on PYTHONPATH: listed, and its counts agree.

    Slow because ``harness frameworks`` also asks every installed built-in framework for its devices.
    """
    env = environment(numpyref_site)
    listed = run_harness(["frameworks", "--json", "--threads", "1"], env)
    assert listed.returncode == 0, listed.stderr
    assert {row["name"]: row["status"] for row in json.loads(listed.stdout)}["numpyref"] == "available"
    result = run_harness(["params", LENET, "--framework", "numpyref", "--threads", "1"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "numpyref" in result.stdout and "66,346 ✓" in result.stdout
    assert "1 network agrees in numpyref" in result.stdout


def test_json_has_oracle_expect_per_layer_counts_and_settings(third_party: Path) -> None:
    result = invoke(LENET, "--framework", "numpyref", "--json")
    assert result.exit_code == 0, result.output
    [network] = json.loads(result.stdout)
    assert network["key"] == "lenet_stride2" and network["ok"] is True
    assert network["oracle"]["params"]["total"] == network["expect"]["params"]["total"]
    counted = network["frameworks"]["numpyref"]
    assert counted["status"] == "ok" and counted["agrees"] and counted["first_mismatch"] is None
    assert counted["params"] == network["oracle"]["params"]
    oracle_layers = {layer["name"]: layer for layer in network["oracle"]["layers"]}
    for name, layer in counted["layers"].items():
        assert layer["trainable"] == oracle_layers[name]["trainable"]
    assert network["settings"]["threads"] == 1 and network["settings"]["device"] == "cpu"
    assert counted["thread_settings"] and set(counted["thread_settings"].values()) == {1}
    assert counted["effective_settings"]["optimizer"]["epsilon"]["neutral"] == 1e-8


def test_a_disagreeing_framework_exits_1_and_names_the_first_layer_that_differs(third_party: Path) -> None:
    result = invoke(LENET, "--framework", "numpyref,miscount")
    assert result.exit_code == 1
    assert "miscount: first layer that differs: layer 'conv_2' (conv)" in result.stdout
    assert "numpyref: first layer" not in result.stdout
    assert "✗" in result.stdout and "1 of 1 network disagrees" in result.stdout
    assert "lenet_stride2: parameters per layer" in result.stdout and "2,415 + 0 ✗" in result.stdout
    data = json.loads(invoke(LENET, "--framework", "miscount", "--json").stdout)
    assert data[0]["frameworks"]["miscount"]["first_mismatch"]["layer"] == "conv_2"


def test_a_network_a_framework_cannot_build_fails_alone(third_party: Path, tmp_path: Path) -> None:
    fcn = tmp_path / "fcn.yaml"
    fcn.write_text(BAD_SPEC.replace("name: bad", "name: lenet_fcn").replace("kernal", "kernel").replace("flatten", "fcn"))
    result = invoke(LENET, str(fcn), "--framework", "crashy", "--json")
    assert result.exit_code == 1
    by_key = {network["key"]: network["frameworks"]["crashy"] for network in json.loads(result.stdout)}
    assert by_key["lenet_stride2"]["status"] == "failed" and "crashy cannot flatten" in by_key["lenet_stride2"]["error"]
    assert by_key["lenet_stride2"]["agrees"] is False
    assert by_key["lenet_fcn"]["status"] == "ok" and by_key["lenet_fcn"]["agrees"] is True


def test_spec_errors_are_printed_like_check_and_the_valid_specs_still_run(third_party: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD_SPEC)
    result = invoke(str(bad), LENET, "--framework", "numpyref")
    assert result.exit_code == 1
    assert f"{bad}:7:" in result.stderr and "kernal" in result.stderr and "Fix:" in result.stderr
    assert "Traceback" not in result.output
    assert "lenet_stride2" in result.stdout


def test_an_unknown_framework_is_an_error(third_party: Path) -> None:
    result = invoke(LENET, "--framework", "numpyref,nosuch")
    assert result.exit_code == 1
    assert "no installed plugin provides the framework 'nosuch'" in result.stderr and "numpyref" in result.stderr


def test_an_uninstalled_builtin_is_named_with_its_install_command(third_party: Path) -> None:
    """Simulated uninstall of a whole built-in plugin: only the third-party plugins are installed."""
    result = invoke(LENET, "--framework", "keras")
    assert result.exit_code == 1
    assert "the framework 'keras' is not installed" in result.stderr and "pip install -e plugins/keras" in result.stderr
    everything = invoke(LENET, "--framework", "all")
    assert everything.exit_code == 1  # miscount disagrees and crashy fails, by design
    for builtin in ("keras", "torch", "paddle"):
        assert f"skipped {builtin}: not installed; install it with: pip install -e plugins/{builtin}" in everything.stderr
    assert "numpyref" in everything.stdout


@needs_torch_plugin
def test_a_missing_framework_is_skipped_by_all_and_an_error_when_named(
    numpyref_site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Simulated uninstall of torch itself: its plugin is installed, ``import torch`` fails."""
    simulate_missing_torch(monkeypatch, numpyref_site)
    named = invoke(LENET, "--framework", "torch")
    assert named.exit_code == 1
    assert "the framework 'torch' is unavailable" in named.stderr and "pip install" in named.stderr
    everything = invoke(LENET, "--framework", "all")
    assert everything.exit_code == 0, everything.output
    assert "skipped torch:" in everything.stderr and "pip install" in everything.stderr
    assert "1 network agrees in numpyref" in everything.stdout


PARENT = """
import json, sys
from harness.cli import main
try:
    main(sys.argv[1:], standalone_mode=False)
    code = 0
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "imported": [m for m in MODULES if m in sys.modules]}))
"""


@pytest.mark.slow
def test_the_parent_process_never_imports_a_framework(numpyref_site: Path) -> None:
    """Every installed framework builds LeNet in its worker; the parent's sys.modules stays clean."""
    program = PARENT.replace("MODULES", repr(FRAMEWORK_MODULES))
    result = subprocess.run(
        [sys.executable, "-c", program, "params", LENET, "--framework", "all", "--threads", "1"],
        env=environment(numpyref_site), cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["imported"] == [], f"the parent imported {report['imported']}"
    assert report["code"] == 0, result.stdout + result.stderr
    assert "numpyref" in result.stdout
