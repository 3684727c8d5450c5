"""The report's index of a run (:class:`RunView`) and the text helpers every section shares.

Networks, frameworks and seeds are sorted, so the same results always give the same tables
whatever order the jobs finished in. Every number goes through :mod:`harness.report.format`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from harness.report import format as fmt
from harness.results import FrameworkCount, JobResult, NetworkCheck, RunResults

PASS = "✓"
FAIL = "✗"
DEFAULT_FLAG = "(default)"
REASON_CHARS = 120
TITLE_NETWORKS = 3
"""A title names at most this many networks; more are counted."""


class RunView:
    """A run's results indexed for the report: networks, frameworks and seeds in sorted order."""

    def __init__(self, run: RunResults) -> None:
        self.run = run
        self.networks = sorted({*run.networks, *run.framework_params, *(job.network for job in run.jobs)})
        self.frameworks = sorted(
            {job.framework for job in run.jobs} | {name for per in run.framework_params.values() for name in per}
        )
        self.seeds = sorted({job.seed for job in run.jobs})
        self.threads = sorted({job.environment.threads for job in run.jobs if job.environment is not None})
        self.modes = sorted({job.mode for job in run.jobs}, key=lambda mode: mode != "eager")
        self.jobs = sorted(
            run.jobs,
            key=lambda job: (self.networks.index(job.network), self.frameworks.index(job.framework), job.seed,
                             self.modes.index(job.mode)),
        )

    def check(self, network: str) -> NetworkCheck:
        """The oracle's check of ``network`` (an empty one when the run does not hold it)."""
        return self.run.networks[network] if network in self.run.networks else NetworkCheck()

    def counts(self, network: str) -> dict[str, FrameworkCount]:
        """Each framework's parameter counts of ``network`` (none when the run recorded none)."""
        return self.run.framework_params[network] if network in self.run.framework_params else {}

    def jobs_of(self, network: str) -> list[JobResult]:
        return [job for job in self.jobs if job.network == network]

    def label(self, job: JobResult) -> str:
        """A job's column heading: the framework, with the network, mode, seed and threads when they vary."""
        parts = [job.network] if len(self.networks) > 1 else []
        parts.append(job.label if len(self.modes) > 1 else job.framework)
        if len(self.seeds) > 1:
            parts.append(f"seed {job.seed}")
        if len(self.threads) > 1 and job.environment is not None:
            parts.append(f"{job.environment.threads} threads")
        return " · ".join(parts)


def labels(view: RunView) -> dict[str, str]:
    """Each network's short name: the variant alone when every network is a variant of one spec."""
    prefixes = {network.split(":", 1)[0] for network in view.networks}
    if len(prefixes) == 1 and all(":" in network for network in view.networks):
        return {network: network.split(":", 1)[1] for network in view.networks}
    return {network: network for network in view.networks}


def first_line(text: str, limit: int = REASON_CHARS) -> str:
    """The first line of ``text``, cut to ``limit`` characters."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def status_text(job: JobResult) -> str:
    """``ok``, or the status with the first line of its reason."""
    if job.status == "ok" or not job.reason:
        return job.status
    return f"{job.status}: {first_line(job.reason)}"


def texts(frame_rows: list[list[str]], columns: list[str]) -> pd.DataFrame:
    """A table's cells as a frame of strings."""
    return pd.DataFrame(frame_rows, columns=columns, dtype=object)


def distinct(values: list[Any]) -> str:
    """The values' texts, each once, in order (``—`` when there are none)."""
    seen = list(dict.fromkeys(fmt.plain(v) for v in values if v is not None))
    return ", ".join(seen) if seen else fmt.MISSING


def title(view: RunView) -> str:
    """What the report compares, short enough for one line."""
    frameworks = ", ".join(view.frameworks) or "no framework"
    if not view.networks:
        return f"Empty run in {frameworks}"
    names = labels(view)
    if len(view.networks) == 1:
        return f"{view.networks[0]} in {frameworks}"
    spec = view.networks[0].split(":", 1)[0]
    if len(view.networks) > TITLE_NETWORKS:
        return f"{spec}: {len(view.networks)} variants in {frameworks}"
    shown = [names[network] for network in view.networks]
    against = f"{shown[1]} vs {shown[0]}" if len(shown) == 2 else f"{', '.join(shown[:-1])} and {shown[-1]}"
    prefix = f"{spec}: " if shown[0] != view.networks[0] else ""
    return f"{prefix}{against} in {frameworks}"
