"""How quiet the machine was while a job was timed (pyperf's system check is the model).

A :class:`NoiseProbe` is started before the timed steps and stopped after them; it records the
load average on both sides, the CPU time other processes used meanwhile (every core's busy time
less this process's own), the CPU's model and frequency, and, once the step times are known, their
spread. A job is flagged ``busy`` when other processes took a noticeable share of the machine, and
``unstable`` when its own rounds disagree; reports mark such jobs instead of trusting them.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import psutil

from harness.results import Noise, Timing

BUSY_SHARE = 0.10
"""Other processes using more than this share of all cores during the timed steps make a job ``busy``."""
UNSTABLE_P90_OVER_MEDIAN = 2.0
"""A step-time p90 more than this many times the median makes a job ``unstable``."""
UNSTABLE_ROUND_SPREAD = 1.5
"""The slowest round's median more than this many times the fastest's makes a job ``unstable``."""
BUSY_NOW_PERCENT = 20.0
"""Before a run: all cores busier than this (percent, over a short sample) means the machine is busy.
The load average is shown beside it but not judged: it still counts a minute of work that has ended."""


def _busy_cpu_seconds() -> float:
    times = psutil.cpu_times()
    return sum(getattr(times, name, 0.0) for name in ("user", "nice", "system", "irq", "softirq", "steal", "guest"))


def _own_cpu_seconds() -> float:
    times = psutil.Process().cpu_times()
    return times.user + times.system + times.children_user + times.children_system


def _frequency_mhz() -> float | None:
    try:
        frequency = psutil.cpu_freq()
    except (OSError, NotImplementedError):
        return None
    return float(frequency.current) if frequency and frequency.current else None


@dataclass
class NoiseProbe:
    """Measures what else ran on the machine between :meth:`start` and :meth:`stop`."""

    load_before: tuple[float, ...] = ()
    busy_before: float = 0.0
    own_before: float = 0.0
    started: float = 0.0

    def start(self) -> NoiseProbe:
        self.load_before = os.getloadavg()
        self.busy_before, self.own_before, self.started = _busy_cpu_seconds(), _own_cpu_seconds(), time.perf_counter()
        return self

    def stop(self, step_time: Timing | None, cpu_model: str) -> Noise:
        """The noise record of the interval, judged with the job's step times."""
        wall = time.perf_counter() - self.started
        others = max(0.0, (_busy_cpu_seconds() - self.busy_before) - (_own_cpu_seconds() - self.own_before))
        cores = psutil.cpu_count() or 1
        share = others / (wall * cores) if wall > 0 else 0.0
        p90_over_median = step_time.p90_ms / step_time.median_ms if step_time and step_time.median_ms > 0 else None
        rounds = step_time.rounds_ms if step_time else []
        spread = max(rounds) / min(rounds) if len(rounds) > 1 and min(rounds) > 0 else None
        flags = []
        if share > BUSY_SHARE:
            flags.append(f"busy: other processes used {share:.0%} of the machine's {cores} cores during the timed steps "
                         f"(limit {BUSY_SHARE:.0%})")
        if p90_over_median is not None and p90_over_median > UNSTABLE_P90_OVER_MEDIAN:
            flags.append(f"unstable: step-time p90/median {p90_over_median:.2f} > {UNSTABLE_P90_OVER_MEDIAN:g}")
        if spread is not None and spread > UNSTABLE_ROUND_SPREAD:
            flags.append(f"unstable: slowest/fastest round {spread:.2f} > {UNSTABLE_ROUND_SPREAD:g}")
        return Noise(
            load_before=list(self.load_before), load_after=list(os.getloadavg()), wall_seconds=wall,
            other_cpu_seconds=others, other_cpu_share=share, cores=cores, cpu_model=cpu_model, cpu_mhz=_frequency_mhz(),
            p90_over_median=p90_over_median, round_spread=spread, flags=flags,
        )


def busy_now(sample_seconds: float = 0.5) -> str | None:
    """Why the machine looks busy right now (before a run starts), or None when it looks quiet."""
    cores = psutil.cpu_count() or 1
    load = os.getloadavg()[0]
    used = psutil.cpu_percent(interval=sample_seconds)
    if used > BUSY_NOW_PERCENT:
        return (f"the machine is busy (CPU {used:.0f}% over {sample_seconds:g} s, 1-minute load {load:.1f} on {cores} cores): "
                "timings will be noisy, and jobs timed while it stays busy are marked in the report")
    return None
