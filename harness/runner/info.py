"""Asking frameworks' workers for their devices and thread settings (the ``info`` task)."""

from __future__ import annotations

from collections.abc import Callable

from harness.runner.executor import ChildOutcome, Executor, run_all
from harness.runner.protocol import InfoRequest, InfoResult

Answer = InfoResult | str
"""A framework's answer, or why its worker gave none."""


def answer(outcome: ChildOutcome) -> Answer:
    return outcome.result if isinstance(outcome.result, InfoResult) else f"its worker failed ({outcome.reason(300)})"


def probe(executor: Executor, frameworks: list[str], threads: int, timeout: float | None = None,
          on_answer: Callable[[str, Answer], None] | None = None) -> dict[str, Answer]:
    """Each framework's answer (the workers side by side where the executor can); ``on_answer`` is
    called with each one the moment it comes."""
    on_end = None if on_answer is None else lambda position, outcome: on_answer(frameworks[position], answer(outcome))
    outcomes = run_all(executor, [InfoRequest(framework=name, threads=threads) for name in frameworks], timeout=timeout,
                       on_end=on_end)
    return {name: answer(outcome) for name, outcome in zip(frameworks, outcomes, strict=True)}
