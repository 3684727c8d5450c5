"""The conformance kit itself: its networks cover the spec language, and the one pytest command
passes a correct out-of-tree plugin, fails a wrong one, and refuses a framework that is not there."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from harness.spec import schema
from harness.testing.networks import OPTIMIZERS, conformance_networks, covered_types
from plugin_support import environment, numpyref_site, write_plugin  # noqa: F401 - numpyref_site is a fixture

KIT = [sys.executable, "-m", "pytest", "--pyargs", "harness.testing.conformance", "-q", "-p", "no:cacheprovider"]

MISCOUNT = '''
from harness.framework import ParamCount
from harness.hookspecs import hookimpl
from harness_numpyref.framework import NumpyRef


class Miscount(NumpyRef):
    """Leaves every batch norm's moving statistics out of the count."""

    name = "miscount"

    def count_params(self, model):
        counts = super().count_params(model)
        return {name: ParamCount(count.trainable, 0) for name, count in counts.items()}


@hookimpl
def harness_register_frameworks(register):
    register(Miscount)
'''

MISTRANSLATED = '''
from harness.framework import Setting
from harness.hookspecs import hookimpl
from harness_numpyref.framework import NumpyRef


class Mistranslated(NumpyRef):
    """Reports (as if it held) every batch norm's momentum as 1 - m, and Adam's epsilon at 1e-8
    whatever the spec says: the translated values are wrong, the neutral ones right."""

    name = "mistranslated"

    def effective_settings(self, model, network):
        settings = super().effective_settings(model, network)
        for group in settings.groups.values():
            if "momentum" in group and "epsilon" in group and group is not settings.groups.get("optimizer"):
                group["momentum"] = Setting(1 - group["momentum"].neutral, neutral=group["momentum"].neutral)
        if network.spec.train.optimizer.name == "adam":
            settings.groups["optimizer"]["epsilon"] = Setting(1e-8, neutral=network.spec.train.optimizer.epsilon)
        return settings


@hookimpl
def harness_register_frameworks(register):
    register(Mistranslated)
'''

STALE_EPSILON = '''
from harness.hookspecs import hookimpl
from harness_numpyref.framework import NumpyRef


class StaleEpsilon(NumpyRef):
    """Trains Adam with epsilon 1e-8 whatever the spec says (the value it reports is right)."""

    name = "stale_epsilon"

    def prepare_training(self, model, train):
        if train.optimizer.name == "adam":
            train = train.model_copy(update={"optimizer": train.optimizer.model_copy(update={"epsilon": 1e-8})})
        return super().prepare_training(model, train)


@hookimpl
def harness_register_frameworks(register):
    register(StaleEpsilon)
'''

FAKE_FLOAT64 = '''
import numpy as np

from harness.hookspecs import hookimpl
from harness.equivalence.reference_train import ReferenceTrainer
from harness_numpyref.framework import NumpyRef


class FakeFloat64(NumpyRef):
    """Claims float64 training but trains in float32."""

    name = "fake_float64"

    def prepare_training(self, model, train):
        trainer = super().prepare_training(model, train)
        trainer.reference = ReferenceTrainer(model.network, model.weights, train.optimizer, self.training_conventions,
                                             np.random.default_rng(self.seed), dtype=np.float32)
        return trainer


@hookimpl
def harness_register_frameworks(register):
    register(FakeFloat64)
'''


def run_kit(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*KIT, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300)


def test_networks_cover_every_layer_type_head_and_optimizer() -> None:
    layers, heads = covered_types(conformance_networks())
    assert layers == set(schema.LAYER_TYPES)
    assert heads == set(schema.HEAD_TYPES)
    assert set(OPTIMIZERS) == set(schema.OPTIMIZER_NAMES)


def test_one_pytest_command_passes_a_conforming_third_party_plugin(numpyref_site: Path, tmp_path: Path) -> None:
    """Run from an unrelated folder, as a plugin author would from theirs."""
    result = run_kit("--harness-framework", "numpyref", env=environment(numpyref_site), cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "failed" not in result.stdout and "skipped" not in result.stdout


def test_the_kit_fails_a_plugin_that_miscounts_and_names_the_layer(numpyref_site: Path, tmp_path: Path) -> None:
    write_plugin(tmp_path, "harness-miscount", {"miscount": "kit_miscount"}, {"kit_miscount": MISCOUNT})
    result = run_kit("--harness-framework", "miscount", "-k", "param_counts", env=environment(tmp_path, numpyref_site), cwd=tmp_path)
    assert result.returncode == 1
    assert "first layer that differs: layer 'batch_norm_1' (batch_norm): miscount" in result.stdout
    assert "failed" in result.stdout and "passed" in result.stdout  # networks without batch norm still pass


def test_the_kit_refuses_a_framework_that_is_not_installed(tmp_path: Path) -> None:
    result = run_kit("--harness-framework", "nosuch", env=environment(), cwd=tmp_path)
    assert result.returncode == 4  # pytest's usage error
    assert "no installed plugin provides the framework 'nosuch'" in result.stderr


def test_without_a_framework_the_kit_skips_with_the_command_to_use(tmp_path: Path) -> None:
    result = run_kit("-rs", env=environment(), cwd=tmp_path)
    assert result.returncode == 0
    assert "--harness-framework NAME" in result.stdout and "failed" not in result.stdout


def test_the_kit_checks_translated_values_not_echoes(numpyref_site: Path, tmp_path: Path) -> None:
    write_plugin(tmp_path, "harness-mistranslated", {"mistranslated": "kit_mistranslated"},
                 {"kit_mistranslated": MISTRANSLATED})
    result = run_kit("--harness-framework", "mistranslated", "-k", "effective_settings",
                     env=environment(tmp_path, numpyref_site), cwd=tmp_path)
    assert result.returncode == 1, result.stdout[-3000:]
    assert "'batch_norm_1' momentum: the framework holds" in result.stdout
    assert "optimizer epsilon: the framework holds 1e-08, but the neutral value 1e-06 implies 1e-06" in result.stdout


def test_the_kit_trains_against_the_reference(numpyref_site: Path, tmp_path: Path) -> None:
    write_plugin(tmp_path, "harness-stale-epsilon", {"stale_epsilon": "kit_stale_epsilon"},
                 {"kit_stale_epsilon": STALE_EPSILON})
    result = run_kit("--harness-framework", "stale_epsilon", "-k", "training_steps",
                     env=environment(tmp_path, numpyref_site), cwd=tmp_path)
    assert result.returncode == 1, result.stdout[-3000:]
    assert "1 failed, 4 passed" in result.stdout
    assert "adam: training departs from the numpy reference at step 1" in result.stdout


def test_the_kit_checks_float64_training_in_a_worker(numpyref_site: Path, tmp_path: Path) -> None:
    write_plugin(tmp_path, "harness-fake-float64", {"fake_float64": "kit_fake_float64"}, {"kit_fake_float64": FAKE_FLOAT64})
    env = environment(tmp_path, numpyref_site)
    honest = run_kit("--harness-framework", "numpyref", "-k", "float64", env=env, cwd=tmp_path)
    assert honest.returncode == 0 and "1 passed" in honest.stdout, honest.stdout[-3000:]
    fake = run_kit("--harness-framework", "fake_float64", "-k", "float64", env=env, cwd=tmp_path)
    assert fake.returncode == 1, fake.stdout[-3000:]
    assert "float64 fake_float64 (float64) vs reference: step 1, loss" in fake.stdout
