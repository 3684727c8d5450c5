"""What tests of ``harness run`` share: a tiny spec, and where the fake framework plugin lies (its fixture is in conftest.py)."""

from __future__ import annotations

from pathlib import Path

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
