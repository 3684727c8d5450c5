"""The JAX plugin passes the harness's conformance kit, run the way a third party runs it: the
documented command, in a pytest process of its own. It runs with XLA's quick-compile flags (those
of ``harness params``): the kit's many small programs then skip XLA's optimisation passes, which
changes no result beyond the kit's tolerances and takes the kit from about 110 s to 45 s on 2
cores; JAX's optimised programs are trained and compared in the plugin's other tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.runner.threads import quick_compile

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_the_jax_plugin_passes_the_conformance_kit() -> None:
    command = [sys.executable, "-m", "pytest", "--pyargs", "harness.testing.conformance", "--harness-framework", "jax",
               "-q", "-p", "no:cacheprovider"]
    result = subprocess.run(command, cwd=ROOT, env=quick_compile(dict(os.environ)), capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, f"jax fails the conformance kit:\n{result.stdout[-6000:]}\n{result.stderr[-2000:]}"
