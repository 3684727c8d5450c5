"""The report's "Run" section: specs, command, data, seeds, device, versions, machine and date, and
each framework's thread pools and determinism settings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from harness.report import format as fmt
from harness.report.document import Details, Section, Split, Table, Text
from harness.report.model import RunView, distinct, texts
from harness.results import DataInfo, Environment, JobResult, RunResults
from harness.neutral.shapes import describe_shape


def run_dates(run: RunResults) -> str:
    """When the run started and finished, from the results (never from the clock)."""
    started = run.started_at or min((job.started_at for job in run.jobs if job.started_at), default=None)
    finished = run.finished_at or max((job.finished_at for job in run.jobs if job.finished_at), default=None)
    if started is None:
        return "not recorded"
    text = _timestamp(started)
    return f"{text} to {_timestamp(finished)}" if finished else text


def _timestamp(value: str) -> str:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    zone = f" {moment.tzname()}" if moment.tzinfo else ""
    return moment.strftime("%Y-%m-%d %H:%M:%S") + zone


def describe_data(data: DataInfo) -> str:
    """One line on a data set: name, any substitution, checksum, sizes and fitting."""
    text = data.name + (f" (standing in for {data.requested})" if data.requested else "")
    if data.checksum:
        text += f", sha256 {data.checksum}"
    text += f", {data.train_size:,} training / {data.test_size:,} test images"
    if data.image_shape and data.fitted_to and data.image_shape != data.fitted_to:
        before, after = describe_shape(tuple(data.image_shape)), describe_shape(tuple(data.fitted_to))
        text += f", {before} {data.fit or 'fitted'} to {after}"
    if data.source:
        text += f", from {data.source}"
    return text


def describe_scored(job: JobResult) -> str:
    """The test images a job scored, beside its data set: how many, and their digest."""
    return f"; scored {job.test_images_scored:,} test images, digest {job.test_images_digest}" if job.test_images_digest else ""


def data_lines(view: RunView) -> list[str]:
    """Each distinct data set, with the networks trained on it when they differ."""
    by_text: dict[str, list[str]] = {}
    for job in view.jobs:
        if job.data is not None:
            networks = by_text.setdefault(describe_data(job.data) + describe_scored(job), [])
            if job.network not in networks:
                networks.append(job.network)
    if len(by_text) <= 1:
        return list(by_text)
    return [f"{text} ({', '.join(networks)})" for text, networks in by_text.items()]


def header_table(view: RunView) -> Table:
    """Specs, data, seeds, device, threads, versions and the date, in one place."""
    run = view.run
    environments = [job.environment for job in view.jobs if job.environment is not None]
    commit = distinct([e.git_commit[:12] + (" (uncommitted changes)" if e.git_dirty else "")
                        for e in environments if e.git_commit])
    versions = [f"harness {distinct([e.harness_version for e in environments])} (commit {commit})",
                f"Python {distinct([e.python for e in environments])}"]
    for framework in view.frameworks:
        version = distinct([e.framework_version for e in environments if e.framework == framework])
        versions.append(f"{framework} {version}")
    rows = [
        ["specs", ", ".join(run.specs) or fmt.MISSING],
        ["networks", ", ".join(view.networks)],
        ["command", run.command or fmt.MISSING],
        ["data", "; ".join(data_lines(view)) or fmt.MISSING],
        ["seeds", ", ".join(str(seed) for seed in view.seeds) or fmt.MISSING],
        ["device", distinct([e.device for e in environments])],
        ["threads", distinct([e.threads for e in environments])],
        ["versions", ", ".join(versions)],
        ["machine", f"{distinct([e.cpu for e in environments])}"
                    f"{_cores(environments)}; {distinct([e.os for e in environments])}"],
        ["date", run_dates(run)],
    ]
    return Table(texts(rows, ["field", "value"]), ("left", "left"), sort="none", id="run", title="Run")


def _cores(environments: list[Environment]) -> str:
    counts = distinct([e.cpu_count for e in environments])
    return "" if counts == fmt.MISSING else f" ({counts} cores)"


def environment_table(view: RunView) -> Table:
    """Per framework, side by side: version, threads, and every thread pool and determinism setting
    the job read back (nested settings as dotted paths)."""
    per_framework = {}
    for framework in view.frameworks:
        environment = next((j.environment for j in view.jobs if j.framework == framework and j.environment), None)
        if environment is not None:
            per_framework[framework] = {
                "version": fmt.plain(environment.framework_version),
                "threads": fmt.plain(environment.threads),
                **flatten(environment.thread_pools, "thread_pools"),
                **flatten(environment.determinism, "determinism"),
            }
    fixed = ["version", "threads"]
    keys = fixed + sorted({key for values in per_framework.values() for key in values} - set(fixed))
    rows = [[key, *(values.get(key, fmt.MISSING) for values in per_framework.values())] for key in keys]
    return Table(texts(rows, ["setting", *per_framework]), ("left",) * (1 + len(per_framework)), sort="none",
                 id="environment", title="Frameworks")


def flatten(value: Any, path: str) -> dict[str, str]:
    """Nested settings as ``{dotted.path: text}``; a list of mappings as one line per path."""
    if isinstance(value, dict):
        flat: dict[str, str] = {}
        for key in sorted(value):
            flat.update(flatten(value[key], f"{path}.{key}"))
        return flat
    if isinstance(value, list) and all(isinstance(item, dict) for item in value) and value:
        return {path: "; ".join(_settings_text(item) for item in value)}
    return {path: fmt.plain(value)}


def _settings_text(values: dict[str, Any]) -> str:
    return ", ".join(f"{key}={fmt.plain(values[key])}" for key in sorted(values)) or fmt.MISSING


def run_section(view: RunView) -> Section:
    """The run's specs, command, data, versions and machine, and each framework's settings, folded."""
    environment = environment_table(view)
    pointer = Text(f"Each framework's thread pools and determinism settings ({len(environment.frame)} rows) are in "
                   "report.html, and every job's in results.json (its environment).")
    return Section("Run", "run", (
        Details("Run: specs, command, data, seeds, device, versions, machine, date", (header_table(view),)),
        Split((pointer,), (Details("Frameworks: versions, thread pools and determinism settings", (environment,)),)),
    ))
