"""CI cannot hide a missing framework: with HARNESS_REQUIRE_FRAMEWORKS set, a test or a test folder
skipped because a required framework is not installed fails; other skips stay skips."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from harness.testing.plugin import REQUIRE_ENV
from plugin_support import environment

TESTS = '''
import pytest

def test_needs_torch():
    pytest.skip("PyTorch is not installed (pip install -e plugins/torch)")

def test_needs_chromium():
    pytest.skip("Chromium is not installed")
'''
CONFTEST = 'import pytest\npytest.importorskip("no_such_module_xyz", reason="TensorFlow or Keras 3 is not installed")\n'


def run_pytest(folder: Path, required: str | None) -> subprocess.CompletedProcess[str]:
    env = environment()
    env.pop(REQUIRE_ENV, None)
    if required is not None:
        env[REQUIRE_ENV] = required
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", str(folder)],
                          cwd=tmp_folder(folder), env=env, capture_output=True, text=True, timeout=120)


def tmp_folder(path: Path) -> Path:
    return path if path.is_dir() else path.parent


def make_tests(tmp_path: Path) -> Path:
    (tmp_path / "test_skips.py").write_text(TESTS)
    keras = tmp_path / "keras_tests"
    keras.mkdir()
    (keras / "conftest.py").write_text(CONFTEST)
    (keras / "test_keras.py").write_text("def test_keras():\n    pass\n")
    return tmp_path


def test_without_the_variable_missing_frameworks_are_skips(tmp_path: Path) -> None:
    result = run_pytest(make_tests(tmp_path), None)
    assert result.returncode == 0, result.stdout
    assert "3 skipped" in result.stdout


def test_a_required_framework_that_is_skipped_fails(tmp_path: Path) -> None:
    result = run_pytest(make_tests(tmp_path) / "test_skips.py", "keras,torch,paddle")
    assert result.returncode == 1, result.stdout
    assert f"{REQUIRE_ENV} requires torch" in result.stdout
    assert "1 failed, 1 skipped" in result.stdout  # Chromium is not a framework


def test_a_test_folder_skipped_for_a_required_framework_fails(tmp_path: Path) -> None:
    make_tests(tmp_path)
    (tmp_path / "test_skips.py").unlink()
    result = run_pytest(tmp_path, "keras,torch,paddle")
    assert result.returncode != 0, result.stdout
    assert f"{REQUIRE_ENV} requires keras, but this was skipped: Skipped: TensorFlow or Keras 3 is not installed" in result.stdout


def test_only_the_named_frameworks_are_required(tmp_path: Path) -> None:
    result = run_pytest(make_tests(tmp_path), "paddle")
    assert result.returncode == 0, result.stdout
