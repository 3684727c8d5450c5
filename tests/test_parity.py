"""`harness parity`: comparisons, the command, and a broken conversion caught at the right layer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from harness.equivalence.parity import compare
from harness.plugins import discover, frameworks, select_frameworks
from harness.results import RunResults, read_run, write_model
from harness.runner import parity
from harness.runner.child import LocalExecutor
from harness.spec import Network, load_network
from run_support import TINY_SPEC

ROOT = Path(__file__).resolve().parents[1]
INSTALLED = frameworks()


def needs(*names: str) -> pytest.MarkDecorator:
    missing = [name for name in names if name not in INSTALLED or INSTALLED[name].unavailable_reason()]
    return pytest.mark.skipif(bool(missing), reason=f"framework(s) not installed: {', '.join(missing)}")


def test_compare_names_the_first_divergent_layer_not_a_later_one() -> None:
    a = {"conv": np.zeros((2, 3)), "dense": np.ones((2, 4)), "logits": np.ones((2, 2))}
    b = {"conv": np.zeros((2, 3)), "dense": np.ones((2, 4)) + 1e-3, "logits": np.ones((2, 2)) + 1e-3}
    result = compare("net", [4, 4, 1], ("x", "y"), a, b, "logits", tolerance=1e-4)
    assert result.first_divergent_layer == "dense"
    assert not result.passed
    assert result.max_abs == pytest.approx(1e-3)


def test_compare_scales_hidden_layers_but_holds_logits_to_the_absolute_tolerance() -> None:
    big = np.full((1, 3), 1000.0)
    a = {"hidden": big, "logits": np.zeros((1, 2))}
    b = {"hidden": big + 0.05, "logits": np.zeros((1, 2)) + 5e-5}
    assert compare("net", [1], ("x", "y"), a, b, "logits", tolerance=1e-4).passed
    b["logits"] = b["logits"] + 1e-4
    failed = compare("net", [1], ("x", "y"), a, b, "logits", tolerance=1e-4)
    assert failed.first_divergent_layer == "logits"


def test_compare_treats_a_shape_mismatch_as_divergence() -> None:
    a = {"flat": np.zeros((1, 6)), "logits": np.zeros((1, 2))}
    b = {"flat": np.zeros((1, 5)), "logits": np.zeros((1, 2))}
    assert compare("net", [1], ("x", "y"), a, b, "logits").first_divergent_layer == "flat"


def _harness(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=600)


@pytest.mark.slow
@needs("keras", "torch", "paddle")
def test_parity_holds_on_lenet_stride2_in_every_framework_and_lands_in_results(tmp_path: Path) -> None:
    write_model(tmp_path / "results.json", RunResults(parity=[{"network": "other", "passed": True}]))
    done = _harness("parity", "specs/lenet_stride2.yaml", "--framework", "all", "--threads", "1", "--batch", "2",
                    "--json", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    [network] = json.loads(done.stdout)
    installed = select_frameworks("all", discover()).names
    assert network["passed"] and network["round_trip_max_abs"] == {name: 0.0 for name in installed}
    pairs = {(pair["a"], pair["b"]) for pair in network["pairs"]}
    n = len(installed) + 1
    assert ("keras", "torch") in pairs and ("reference", "paddle") in pairs and len(pairs) == n * (n - 1) // 2
    assert all(pair["max_abs"] <= 1e-4 for pair in network["pairs"])
    recorded = read_run(tmp_path / "results.json").parity
    assert {entry.network for entry in recorded} == {"other", "lenet_stride2"}
    assert json.loads((tmp_path / "parity.json").read_text())[0]["pairs"][0]["layers"]


BREAK_FLATTEN_PERMUTATION = """
import importlib.abc
import importlib.util
import sys

TARGET = {target!r}


class BreakOnImport(importlib.abc.MetaPathFinder):
    # After TARGET is imported (only ever in a worker), skip the flatten row permutation.
    def find_spec(self, name, path, target=None):
        if name != TARGET:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            module.dense_rows_after_flatten = lambda array, *args, **kwargs: array

        spec.loader.exec_module = exec_module
        return spec


sys.meta_path.insert(0, BreakOnImport())
"""


@pytest.mark.parametrize("framework", ["torch", "paddle"])
def test_a_skipped_flatten_permutation_is_caught_at_the_dense_layer(framework: str, tmp_path: Path) -> None:
    if framework not in INSTALLED:
        pytest.skip(f"{framework} is not installed")
    (tmp_path / "sitecustomize.py").write_text(
        textwrap.dedent(BREAK_FLATTEN_PERMUTATION.format(target="harness.neutral.channels_first"))
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))}
    done = _harness("parity", "specs/lenet.yaml", "--framework", framework, "--threads", "1", "--batch", "2",
                    "--json", env=env)
    assert done.returncode == 1, done.stderr
    [network] = json.loads(done.stdout)
    broken = [pair for pair in network["pairs"] if framework in (pair["a"], pair["b"])]
    assert broken and all(pair["first_divergent_layer"] == "head_dense_1" for pair in broken)
    assert not network["passed"]


def tiny_networks(folder: Path, names: tuple[str, ...]) -> list[Network]:
    """Of three tiny networks, ``names`` in that order: ``tiny``; ``tiny_slow``, which differs only in
    its learning rate; ``tiny_wide``, which has a wider convolution."""
    texts = {"tiny": TINY_SPEC.format(lr=0.1), "tiny_slow": TINY_SPEC.format(lr=0.01).replace("name: tiny", "name: tiny_slow"),
             "tiny_wide": TINY_SPEC.format(lr=0.1).replace("name: tiny", "name: tiny_wide").replace("filters: 2", "filters: 3")}
    for name in names:
        (folder / f"{name}.yaml").write_text(texts[name])
    return [load_network(folder / f"{name}.yaml") for name in names]


def test_distinct_networks_pairs_each_network_with_the_first_of_its_forward_pass(tmp_path: Path) -> None:
    """The check-once rule, framework-free: the command's progress total and ``check_networks`` both
    count the networks that stand for themselves."""
    networks = tiny_networks(tmp_path, ("tiny_slow", "tiny_wide", "tiny"))
    pairs = parity.distinct_networks(networks)
    assert [(network.key, first.key) for network, first in pairs] == [
        ("tiny_slow", "tiny_slow"), ("tiny_wide", "tiny_wide"), ("tiny", "tiny_slow")]


@needs("torch")
def test_networks_that_differ_only_in_training_share_one_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two learning rates of one network are checked once, and both get that check under their own
    name; a network with another layer is checked on its own."""
    networks = tiny_networks(tmp_path, ("tiny", "tiny_slow", "tiny_wide"))
    prepared: list[str] = []
    real_prepare = parity.prepare
    monkeypatch.setattr(parity, "prepare", lambda network, *args, **options: prepared.append(network.key)
                        or real_prepare(network, *args, **options))
    results = parity.check_networks(networks, ["torch"], LocalExecutor(discover()), threads=1, batch=2)
    assert prepared == ["tiny", "tiny_wide"]
    tiny, slow, wide = results
    assert [result.network for result in results] == ["tiny", "tiny_slow", "tiny_wide"]
    assert slow.checked_as == "tiny" and tiny.checked_as is None and wide.checked_as is None
    assert all(result.passed for result in results), [result.failures for result in results]
    assert [(pair.network, pair.a, pair.b, pair.max_abs) for pair in slow.pairs] == [
        ("tiny_slow", pair.a, pair.b, pair.max_abs) for pair in tiny.pairs]
