"""The JAX plugin passes the harness's conformance kit, run the way a third party runs it: the
documented command, in a pytest process of its own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_the_jax_plugin_passes_the_conformance_kit() -> None:
    command = [sys.executable, "-m", "pytest", "--pyargs", "harness.testing.conformance", "--harness-framework", "jax",
               "-q", "-p", "no:cacheprovider"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"jax fails the conformance kit:\n{result.stdout[-6000:]}\n{result.stderr[-2000:]}"
