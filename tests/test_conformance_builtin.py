"""The built-in plugins pass the same conformance kit a third party runs, each in its own pytest
subprocess (TensorFlow, PyTorch and Paddle in one process may conflict). Keras on JAX runs it with
XLA's quick-compile flags (those of ``harness params``): its compiled programs then skip XLA's
optimisation passes, which changes no result beyond the kit's tolerances and halves the kit's time;
its optimised programs are trained and compared in the other tests."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from harness.plugins import BUILTIN_INSTALL, discover
from harness.runner.threads import quick_compile
from plugin_support import ROOT

DISCOVERY = discover()
XLA_FRAMEWORKS = ("keras-jax",)


def _skip_reason(name: str) -> str | None:
    registered = DISCOVERY.frameworks.get(name)
    if registered is None:
        return f"the {name} plugin is not installed ({BUILTIN_INSTALL[name]})"
    reason = registered.unavailable_reason()
    return None if reason is None else f"{name} is unavailable: {reason}"


@pytest.mark.slow
@pytest.mark.parametrize("name", list(BUILTIN_INSTALL))
def test_builtin_plugin_passes_the_conformance_kit(name: str) -> None:
    reason = _skip_reason(name)
    if reason:
        pytest.skip(reason)
    command = [sys.executable, "-m", "pytest", "--pyargs", "harness.testing.conformance", "--harness-framework", name,
               "-q", "-p", "no:cacheprovider"]
    env = quick_compile(dict(os.environ)) if name in XLA_FRAMEWORKS else None
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{name} fails the conformance kit:\n{result.stdout[-6000:]}\n{result.stderr[-2000:]}"
    assert re.search(r"\b\d+ passed", result.stdout), f"no test of the conformance kit ran for {name}:\n{result.stdout[-3000:]}"
