"""A harness command in a fresh process, timed as the speed benchmarks hold it: its CPU seconds
(user + system, with every worker it waited for) and its wall seconds.

Bytecode caching is on, as in a user's shell (a ``PYTHONDONTWRITEBYTECODE`` environment would
recompile the harness every time)."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed_harness(arguments: Sequence[str], *, cache: Path | None = None,
                  program: Sequence[str] = ("-m", "harness")) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """``python PROGRAM ARGUMENTS`` from the checkout (``program``: how the harness is started),
    ``harness frameworks``' answers kept in ``cache`` when given: CPU seconds, wall seconds, the process."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    if cache is not None:
        env["HARNESS_FRAMEWORKS_CACHE"] = str(cache)
    before, began = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    run = subprocess.run([sys.executable, *program, *arguments], cwd=ROOT, env=env, capture_output=True, text=True,
                         check=False)
    wall, after = time.perf_counter() - began, resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall, run
