"""Running a command the way a user would and asserting that it failed cleanly: the exit code, no
traceback, and a message that names what it must (the file and line, the limit, the fix)."""

from __future__ import annotations

from click.testing import CliRunner, Result

from harness.cli import main

VALID_SPEC = """\
name: t
title: a test spec
source: tests
classes: 10
input: [28, 28, 1]
backbone:
  - {type: conv, filters: 6, kernel: 5}
  - {type: max_pool, pool: 2}
head:
  type: flatten
train:
  optimizer: {name: adam, lr: 0.001}
  batch_size: 64
dataset:
  name: synthetic
  train_size: 64
  test_size: 32
"""


def edit(old: str, new: str, text: str = VALID_SPEC) -> str:
    """``text`` with its single occurrence of ``old`` replaced."""
    assert text.count(old) == 1, old
    return text.replace(old, new)


def invoke(*args: str) -> Result:
    """``harness ARGS`` in this process, never raising."""
    return CliRunner().invoke(main, list(args))


def assert_clean_failure(result: Result, code: int, *fragments: str) -> str:
    """``result`` exited with ``code`` through a message holding every fragment, with no traceback."""
    output = result.output
    assert result.exit_code == code, f"exit {result.exit_code}, expected {code}:\n{output}"
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in output, output
    for fragment in fragments:
        assert fragment in output, f"{fragment!r} not in:\n{output}"
    return output
