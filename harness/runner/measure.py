"""Measurement helpers: timing statistics, peak memory, and the environment a job ran in.

Timings follow the practice of asv and optimum-benchmark: every sample is kept, and the summary
is robust (median with the 10th and 90th percentiles) rather than a mean that one slow outlier
(a garbage collection, a page fault, another process) can drag.
"""

from __future__ import annotations

import os
import platform
import resource
import subprocess
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from functools import cache
from pathlib import Path

import numpy as np

import harness
from harness.results import Environment, Timing

SAMPLE_DECIMALS = 4
"""Raw samples are kept in milliseconds to 0.1 microsecond, finer than any clock here resolves."""


ROUNDS = 10
"""Rounds a job's timed steps are split into (consecutive blocks, each at least :data:`ROUND_MIN_SAMPLES` long)."""
ROUND_MIN_SAMPLES = 5


def rounds(milliseconds: Sequence[float], count: int = ROUNDS) -> list[float]:
    """The median of each of up to ``count`` consecutive, equal blocks of ``milliseconds`` (in order)."""
    blocks = min(count, len(milliseconds) // ROUND_MIN_SAMPLES)
    if blocks < 1:
        return []
    return [round(float(np.median(block)), SAMPLE_DECIMALS) for block in np.array_split(np.asarray(milliseconds), blocks)]


def summarize(seconds: Sequence[float]) -> Timing | None:
    """Median, p10, p90 and count of ``seconds`` (in milliseconds), with the raw samples and the
    round medians; None if empty."""
    if not seconds:
        return None
    milliseconds = np.asarray(seconds, dtype=np.float64) * 1000.0
    p10, median, p90 = np.percentile(milliseconds, [10, 50, 90])
    return Timing(
        median_ms=float(median), p10_ms=float(p10), p90_ms=float(p90), count=len(milliseconds),
        samples_ms=[round(float(value), SAMPLE_DECIMALS) for value in milliseconds], rounds_ms=rounds(milliseconds),
    )


def peak_rss_mb() -> float:
    """This process's peak resident memory in MiB (``ru_maxrss``: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def now() -> str:
    """The current UTC time in ISO 8601, to the second."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


@cache
def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, else what :mod:`platform` knows)."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown"


OUTPUTS = "reports"
"""The checkout's folder of committed run outputs (not code)."""


@cache
def git_state() -> tuple[str | None, bool | None]:
    """The harness checkout's commit and whether it has uncommitted changes (None outside git).
    Changes under :data:`OUTPUTS` do not count: ``reports/regenerate.sh`` removes a committed report
    before it runs it again, and that is not a change to the code that measures."""
    root = Path(harness.__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
        if commit.returncode != 0:
            return None, None
        status = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no", "--", ".",
                                 f":(exclude){OUTPUTS}"],
                                capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None, None
    return commit.stdout.strip(), bool(status.stdout.strip()) if status.returncode == 0 else None


def environment(framework: str, framework_version: str | None, device: str, threads: int) -> Environment:
    """Where a job runs: versions, machine, device and thread count (pools are added by the worker)."""
    commit, dirty = git_state()
    return Environment(
        harness_version=harness.__version__, git_commit=commit, git_dirty=dirty,
        python=platform.python_version(), os=platform.platform(), cpu=cpu_model(),
        cpu_count=os.cpu_count(), framework=framework, framework_version=framework_version,
        device=device, threads=threads,
    )
