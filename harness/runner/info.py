"""Asking a framework's worker for its devices and thread settings (the ``info`` task)."""

from __future__ import annotations

from harness.runner.child import LocalExecutor
from harness.runner.protocol import InfoRequest, InfoResult


def probe(executor: LocalExecutor, framework: str, threads: int, timeout: float | None = None) -> InfoResult | str:
    """The framework's answer, or why its worker gave none."""
    outcome = executor.run(InfoRequest(framework=framework, threads=threads), timeout=timeout)
    if isinstance(outcome.result, InfoResult):
        return outcome.result
    return f"its worker failed ({outcome.status}): {outcome.error or outcome.output_tail.strip()[-300:]}"
