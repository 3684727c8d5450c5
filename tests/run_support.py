"""What tests of ``harness run`` share: a tiny spec, and where the fake framework plugin lies (its fixture is in conftest.py)."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

from click.testing import CliRunner

from harness.cli import main
from harness.results import read_job

FIXTURES = Path(__file__).parent / "fixtures"

TINY_SPEC = """\
name: tiny
title: Tiny
source: test
classes: 3
input: [8, 8, 1]
backbone:
  - {{type: conv, filters: 2, kernel: 3, activation: relu}}
head: {{type: flatten}}
train:
  optimizer: {{name: sgd, lr: {lr}}}
  batch_size: 32
  epochs: 2
dataset: {{name: synthetic, train_size: 64, test_size: 32}}
"""


def write_spec(folder: Path, lr: float = 0.1, name: str = "tiny.yaml") -> Path:
    path = folder / name
    path.write_text(TINY_SPEC.format(lr=lr))
    return path


def harness_run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["run", *args, "--quiet", "--threads", "1", "--no-report",
                                       "--warmup-steps", "0", "--latency-repeats", "3"])
    return result.exit_code, result.output


def job_file(out: Path, framework: str, seed: int = 0) -> dict:
    return read_job(out / "jobs" / f"tiny__{framework}__seed{seed}.json").model_dump(mode="json")


def _default_interrupt() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_interruptible(command: list[str]) -> subprocess.Popen[str]:
    """Start ``command`` with Ctrl-C (SIGINT) at its default even when this test process ignores it
    (a suite started in the background by a non-interactive shell does, and children inherit that),
    so that the test's SIGINT reaches it as a user's Ctrl-C would."""
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=_default_interrupt)
