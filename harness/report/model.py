"""A run's results as the report's tables (pandas), in a fixed row and column order.

Networks, frameworks and seeds are sorted, so the same results always give the same tables
whatever order the jobs finished in. Every number goes through :mod:`harness.report.format`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import pandas as pd

from harness.agreement import batch_order_difference
from harness.pretrained import init_label
from harness.report import format as fmt
from harness.report.document import Banner, Mark, Table
from harness.results import DataInfo, Environment, JobResult, RunResults, Timing
from harness.shapes import describe_shape

PASS = "✓"
FAIL = "✗"
DEFAULT_FLAG = "(default)"
REASON_CHARS = 120
NOTE_CHARS = 600
STATUS_MARKS: dict[str, Mark] = {"ok": "pass", "diverged": "warn", "skipped": "warn"}
IN_BANNERS = re.compile(r"\bstands? in for the spec's\b|^(train|test) limited to its first \d+ of \d+ images\.$")
"""The harness's own notes on a substituted data set or a slice, which the report's banners already state."""


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


def _texts(frame_rows: list[list[str]], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(frame_rows, columns=columns, dtype=object)


# ----------------------------------------------------------------------------- header


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


def _distinct(values: list[Any]) -> str:
    seen = list(dict.fromkeys(fmt.plain(v) for v in values if v is not None))
    return ", ".join(seen) if seen else fmt.MISSING


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


def data_lines(view: RunView) -> list[str]:
    """Each distinct data set, with the networks trained on it when they differ."""
    by_text: dict[str, list[str]] = {}
    for job in view.jobs:
        if job.data is not None:
            networks = by_text.setdefault(describe_data(job.data), [])
            if job.network not in networks:
                networks.append(job.network)
    if len(by_text) <= 1:
        return list(by_text)
    return [f"{text} ({', '.join(networks)})" for text, networks in by_text.items()]


def header_table(view: RunView) -> Table:
    """Specs, data, seeds, device, threads, versions and the date, in one place."""
    run = view.run
    environments = [job.environment for job in view.jobs if job.environment is not None]
    commit = _distinct([e.git_commit[:12] + (" (uncommitted changes)" if e.git_dirty else "")
                        for e in environments if e.git_commit])
    versions = [f"harness {_distinct([e.harness_version for e in environments])} (commit {commit})",
                f"Python {_distinct([e.python for e in environments])}"]
    for framework in view.frameworks:
        version = _distinct([e.framework_version for e in environments if e.framework == framework])
        versions.append(f"{framework} {version}")
    rows = [
        ["specs", ", ".join(run.specs) or fmt.MISSING],
        ["networks", ", ".join(view.networks)],
        ["command", run.command or fmt.MISSING],
        ["data", "; ".join(data_lines(view)) or fmt.MISSING],
        ["seeds", ", ".join(str(seed) for seed in view.seeds) or fmt.MISSING],
        ["device", _distinct([e.device for e in environments])],
        ["threads", _distinct([e.threads for e in environments])],
        ["versions", ", ".join(versions)],
        ["machine", f"{_distinct([e.cpu for e in environments])}"
                    f"{_cores(environments)}; {_distinct([e.os for e in environments])}"],
        ["date", run_dates(run)],
    ]
    return Table(_texts(rows, ["field", "value"]), ("left", "left"), sort="none", id="run", title="Run")


def _cores(environments: list[Environment]) -> str:
    counts = _distinct([e.cpu_count for e in environments])
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
    return Table(_texts(rows, ["setting", *per_framework]), ("left",) * (1 + len(per_framework)), sort="none",
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


def banners(view: RunView) -> list[Banner]:
    """What makes this run differ from its specs, for the top of the report: shortened runs, then
    substituted data sets."""
    return ([Banner("Shortened run", text) for text in shortened_warnings(view)]
            + [Banner("Data substituted", text) for text in substitution_warnings(view)])


def substitutions(view: RunView) -> dict[tuple[str, str], list[str]]:
    """(data set used, data set the spec names) -> the networks trained on the stand-in."""
    found: dict[tuple[str, str], list[str]] = {}
    for job in view.jobs:
        if job.data is not None and job.data.requested:
            networks = found.setdefault((job.data.name, job.data.requested), [])
            if job.network not in networks:
                networks.append(job.network)
    return found


def substitution_warnings(view: RunView) -> list[str]:
    """One line per data set that stood in for the one a spec names."""
    every, names = len(view.networks), labels(view)
    return [f"{name} stood in for {requested}, the data set the spec names"
            + ("" if len(networks) == every else f", in {', '.join(names[n] for n in networks)}")
            + f": accuracies are not comparable with figures published on {requested}."
            for (name, requested), networks in substitutions(view).items()]


def shortened(view: RunView) -> dict[str, str]:
    """Network -> how it ran short of its spec (fewer epochs or images), for the networks that did."""
    found = {}
    for network in view.networks:
        jobs = view.jobs_of(network)
        parts = []
        epochs = max((job.epochs_requested for job in jobs), default=None)
        spec_epochs = max((job.spec_epochs for job in jobs if job.spec_epochs), default=None)
        if epochs is not None and spec_epochs is not None and epochs < spec_epochs:
            parts.append(f"{epochs} of the spec's {spec_epochs} epochs")
        data = next((job.data for job in jobs if job.data is not None), None)
        if data is not None:
            for size, full, what in ((data.train_size, data.full_train_size, "training"),
                                     (data.test_size, data.full_test_size, "test")):
                if full is not None and size < full:
                    parts.append(f"{size:,} of {full:,} {what} images")
        if parts:
            found[network] = " and ".join(parts)
    return found


def shortened_warnings(view: RunView) -> list[str]:
    """One line per way the networks ran short of their specs, naming the networks (once each)."""
    by_text: dict[str, list[str]] = {}
    for network, text in shortened(view).items():
        by_text.setdefault(text, []).append(network)
    warnings = []
    for text, networks in by_text.items():
        names = labels(view)
        if len(networks) == 1:
            who, their = names[networks[0]], "its"
        else:
            who = "Every network" if len(networks) == len(view.networks) else ", ".join(names[n] for n in networks)
            their = "their"
        warnings.append(f"{who} ran on {text}: {their} figures are not comparable with a full run.")
    return warnings


# ----------------------------------------------------------------------------- architecture


def architecture_table(layers: list[dict[str, Any]]) -> Table:
    """The oracle's layer table: output shape, parameters and MACs per layer, with totals."""
    rows, keys = [], []
    for layer in layers:
        indent = "↳ " * int(layer.get("depth", 0))
        macs = layer.get("macs")
        rows.append([indent + layer["name"], layer["type"], describe_shape(tuple(layer["output_shape"])),
                     fmt.count(layer["trainable"]), fmt.count(layer["non_trainable"]), fmt.count(macs)])
        keys.append([math.nan, math.nan, math.nan, layer["trainable"], layer["non_trainable"],
                     math.nan if macs is None else macs])
    macs = [layer.get("macs") for layer in layers]
    footer = ("total", "", "",
              fmt.count(sum(layer["trainable"] for layer in layers)),
              fmt.count(sum(layer["non_trainable"] for layer in layers)),
              fmt.count(None if None in macs else sum(macs)))
    columns = ["layer", "type", "output", "trainable", "non-trainable", "MACs"]
    return Table(_texts(rows, columns), ("left", "left", "left", "right", "right", "right"),
                 sort_keys=pd.DataFrame(keys, columns=columns, dtype=float), footer=footer)


# ----------------------------------------------------------------------------- parameters

COUNTS = (("trainable", "trainable"), ("non_trainable", "non-trainable"), ("total", "total"))


def params_table(view: RunView) -> Table:
    """Oracle vs published ``expect`` vs each framework, with a pass/fail mark per cell.

    The whole network's counts always; the backbone's alone when the spec publishes them (the
    frameworks report whole networks, so their backbone cells stay empty).
    """
    several = len(view.networks) > 1
    columns = (["network"] if several else []) + ["count", "oracle", "published", *view.frameworks]
    rows, marks = [], []
    for network in view.networks:
        analysis = view.run.networks.get(network, {})
        published = {(item.get("scope", "params"), item["field"]): item["expected"] for item in analysis.get("expect", [])}
        counted = view.run.framework_params.get(network, {})
        scopes = [("params", "")] + ([("backbone", "backbone ")] if any(s == "backbone" for s, _ in published) else [])
        for scope, prefix in scopes:
            oracle = analysis.get("params" if scope == "params" else "backbone_params", {})
            for field, label in COUNTS:
                if scope == "backbone" and (scope, field) not in published:
                    continue
                reference = oracle.get(field)
                row = ([network] if several else []) + [prefix + label, fmt.count(reference) if oracle else fmt.MISSING]
                mark_row: list[Mark] = [""] * len(row)
                cells = [_agreement(published.get((scope, field)), reference)]
                for framework in view.frameworks:
                    entry = counted.get(framework) if scope == "params" else None
                    if entry is not None and "params" not in entry:
                        cells.append((f"{FAIL} build failed", "fail") if field == "total" else (fmt.MISSING, ""))
                    else:
                        cells.append(_agreement(None if entry is None else entry["params"].get(field), reference))
                rows.append(row + [cell for cell, _ in cells])
                marks.append(mark_row + [mark for _, mark in cells])
    align = tuple("left" if c in ("network", "count") else "right" for c in columns)
    return Table(_texts(rows, columns), align, marks=pd.DataFrame(marks, columns=columns, dtype=object), id="params",
                 title="Parameter counts")


def _agreement(value: int | None, reference: int | None) -> tuple[str, Mark]:
    if value is None:
        return fmt.MISSING, ""
    if reference is None:
        return fmt.count(value), ""
    if value == reference:
        return f"{fmt.count(value)} {PASS}", "pass"
    return f"{fmt.count(value)} {FAIL} ({value - reference:+,})", "fail"


def layer_disagreements(view: RunView) -> Table | None:
    """Every layer whose count in a framework differs from the oracle's, or None if all agree."""
    rows = []
    for network in view.networks:
        oracle = {layer["name"]: layer for layer in view.run.networks.get(network, {}).get("layers", [])}
        for framework, entry in view.run.framework_params.get(network, {}).items():
            counted = entry.get("layers", {})
            for name in [*oracle, *(n for n in counted if n not in oracle)]:
                expected = oracle.get(name, {"trainable": 0, "non_trainable": 0})
                got = counted.get(name, {"trainable": 0, "non_trainable": 0})
                if "params" in entry and any(expected[k] != got.get(k, 0) for k in ("trainable", "non_trainable")):
                    rows.append([network, name, framework,
                                 f"{fmt.count(expected['trainable'])} / {fmt.count(expected['non_trainable'])}",
                                 f"{fmt.count(got.get('trainable', 0))} / {fmt.count(got.get('non_trainable', 0))}"])
    if not rows:
        return None
    columns = ["network", "layer", "framework", "oracle (trainable / non-trainable)",
               "framework (trainable / non-trainable)"]
    return Table(_texts(rows, columns), ("left", "left", "left", "right", "right"), id="layer-disagreements",
                 title="Layers that disagree with the oracle")


PARITY_COLUMNS = ("network", "input_shape", "a", "b", "max_abs", "max_rel", "tolerance", "first_divergent_layer", "passed")
TRAIN_PARITY_NUMBERS = ("max_loss_diff", "max_weight_diff")
TRAIN_PARITY_COLUMNS = ("network", "dtype", "a", "b", "steps", "judged", *TRAIN_PARITY_NUMBERS, "first_divergence", "passed")


def parity_table(entries: list[dict[str, Any]], id: str = "parity") -> Table | None:
    """The parity checks (or training-parity checks) as recorded: known columns first, then any
    others; per-layer lists left out."""
    if not entries:
        return None
    scalar = {key for entry in entries for key, value in entry.items()
              if not isinstance(value, (dict, list)) or key == "input_shape"}
    known = PARITY_COLUMNS if id == "parity" else TRAIN_PARITY_COLUMNS
    columns = [c for c in known if c in scalar] + sorted(scalar - set(known))
    rows, marks = [], []
    for entry in entries:
        rows.append([_parity_cell(column, entry.get(column)) for column in columns])
        passed = entry.get("passed")
        marks.append(["pass" if passed is True and c == "passed" else "fail" if passed is False and c == "passed" else ""
                      for c in columns])
    align = tuple("right" if c in ("max_abs", "max_rel", "tolerance", *TRAIN_PARITY_NUMBERS) else "left" for c in columns)
    return Table(_texts(rows, columns), align, marks=pd.DataFrame(marks, columns=columns, dtype=object), id=id,
                 title="Parity checks, pair by pair" if id == "parity" else "Training parity, pair by pair")


def _parity_cell(column: str, value: Any) -> str:
    if isinstance(value, bool):
        return f"{PASS} pass" if value else f"{FAIL} fail"
    if isinstance(value, float):
        return f"{value:.2e}"
    if column == "input_shape" and isinstance(value, list):
        return describe_shape(tuple(value))
    return fmt.plain(value)


def first_steps_table(view: RunView) -> Table | None:
    """First-step and first-epoch training loss per framework, and the largest gap between frameworks.

    From shared neutral weights (``init: shared``) and the harness's common batch order the first
    steps should agree closely; with each framework's own initialisers they need not.
    """
    rows = []
    for network in view.networks:
        for seed in view.seeds:
            jobs = [job for job in view.jobs if job.network == network and job.seed == seed and job.first_step_losses]
            if len(jobs) < 2:
                continue
            first = {job.framework: job.first_step_losses[0] for job in jobs}
            epoch = {job.framework: job.history[0].train_loss for job in jobs if job.history}
            inits = _distinct([init_label(job.config.get("init")) for job in jobs])
            difference = batch_order_difference({job.framework: job.first_step_batches for job in jobs},
                                                {job.framework: job.batch_order for job in jobs})
            recorded = all(job.batch_order for job in jobs)
            gap = max(first.values()) - min(first.values())
            epoch_gap = max(epoch.values()) - min(epoch.values()) if len(epoch) > 1 else None
            rows.append([network, str(seed), inits,
                         ", ".join(f"{name} {value:.6f}" for name, value in sorted(first.items())),
                         f"{gap:.2e}", fmt.plain(None if epoch_gap is None else f"{epoch_gap:.3g}"),
                         fmt.plain(None if not recorded else difference or "yes")])
    if not rows:
        return None
    columns = ["network", "seed", "init", "first-step loss", "largest first-step gap", "largest first-epoch gap",
               "same batches, same order"]
    return Table(_texts(rows, columns), ("left", "left", "left", "left", "right", "right", "left"), id="first-steps",
                 title="First training steps")


# ----------------------------------------------------------------------------- results

Better = Literal["higher", "lower"]


@dataclass(frozen=True)
class Metric:
    """One row of the results table: how to read it from a job and how to write it.

    ``timing`` gives the row's repeated timings when it has them: only such a row can mark a best
    value, and only one whose whole p10-p90 range lies beyond every other job's (beyond the noise).
    """

    id: str
    label: str
    better: Better | None
    value: Callable[[JobResult], float | None]
    rounded: Callable[[float | None], str]
    text: Callable[[JobResult], str] | None = None
    timing: Callable[[JobResult], Timing | None] | None = None

    def cell(self, job: JobResult) -> str:
        return self.text(job) if self.text is not None else self.rounded(self.value(job))


def _median(timing: Timing | None) -> float | None:
    return None if timing is None else timing.median_ms


def _spread(timing: Timing | None) -> str:
    if timing is None:
        return fmt.MISSING
    return f"{fmt.significant(timing.median_ms)} [{fmt.significant(timing.p10_ms)}–{fmt.significant(timing.p90_ms)}]"


def _last(job: JobResult, field: str) -> float | None:
    return getattr(job.history[-1], field) if job.history else None


def _best_epoch(job: JobResult) -> str:
    best = job.best_test_accuracy
    if best is None:
        return fmt.MISSING
    epoch = next(e.epoch for e in job.history if e.test_accuracy == best)
    return f"{fmt.accuracy(best)} (epoch {epoch})"


def _train_seconds(job: JobResult) -> float | None:
    return sum(epoch.seconds for epoch in job.history) if job.history else None


METRICS: tuple[Metric, ...] = (
    Metric("status", "status", None, lambda j: None, fmt.plain, status_text),
    Metric("epochs", "epochs run", None, lambda j: float(len(j.history)), fmt.plain,
           lambda j: f"{len(j.history)} / {j.epochs_requested}"),
    Metric("final-test-accuracy", "final test accuracy", "higher", lambda j: j.final_test_accuracy, fmt.accuracy),
    Metric("best-test-accuracy", "best test accuracy", "higher", lambda j: j.best_test_accuracy, fmt.accuracy,
           _best_epoch),
    Metric("final-test-loss", "final test loss", "lower", lambda j: _last(j, "test_loss"), fmt.significant),
    Metric("final-train-loss", "final train loss", "lower", lambda j: _last(j, "train_loss"), fmt.significant),
    Metric("step-time", "step time, ms: median [p10–p90]", "lower", lambda j: _median(j.step_time), fmt.significant,
           lambda j: _spread(j.step_time), lambda j: j.step_time),
    Metric("images-per-second", "training images/s (from the mean step time)", "higher", lambda j: j.images_per_second,
           fmt.significant),
    Metric("latency-1", "inference latency, batch 1, ms", "lower", lambda j: _median(j.latency_batch_1),
           fmt.significant, lambda j: _spread(j.latency_batch_1), lambda j: j.latency_batch_1),
    Metric("latency-batch", "inference latency, training batch, ms", "lower", lambda j: _median(j.latency_batch),
           fmt.significant, lambda j: _spread(j.latency_batch), lambda j: j.latency_batch),
    Metric("peak-memory", "peak memory (RSS), MiB", "lower", lambda j: j.peak_rss_mb, fmt.significant),
    Metric("gflops", "achieved GFLOP/s (share of the machine's FP32 GEMM rate)", "higher", lambda j: j.gflops,
           fmt.significant, lambda j: _gflops_text(j)),
    Metric("noise", "timing noise (other processes' CPU share)", None,
           lambda j: j.noise.other_cpu_share if j.noise else None, fmt.plain, lambda j: _noise_text(j)),
    Metric("build", "time to build, s", "lower", lambda j: j.build_seconds, fmt.significant),
    Metric("first-step", "time to first step, s", "lower", lambda j: j.first_step_seconds, fmt.significant),
    Metric("train-time", "training time, s", "lower", _train_seconds, fmt.significant),
)


def _gflops_text(job: JobResult) -> str:
    if job.gflops is None:
        return fmt.MISSING
    if not job.gemm_gflops:
        return fmt.significant(job.gflops)
    return f"{fmt.significant(job.gflops)} ({job.gflops / job.gemm_gflops:.0%} of {fmt.significant(job.gemm_gflops)})"


def _noise_text(job: JobResult) -> str:
    if job.noise is None:
        return "not recorded"
    share = f"{job.noise.other_cpu_share:.0%}"
    if not job.noise.flags:
        return f"quiet ({share})"
    kinds = " and ".join(dict.fromkeys(flag.split(":")[0] for flag in job.noise.flags))
    return f"⚠ {kinds} ({share})"


def results_table(view: RunView) -> Table:
    """One column per job, one row per metric; a timing clearly better than every other ``ok`` job's marked."""
    jobs = view.jobs
    columns = ["", *(view.label(job) for job in jobs)]
    rows, marks, keys = [], [], []
    for metric in METRICS:
        values = [metric.value(job) for job in jobs]
        best = _best_cells(metric, jobs, values)
        rows.append([metric.label, *(metric.cell(job) for job in jobs)])
        if metric.id == "status":
            marks.append(["", *(STATUS_MARKS.get(job.status, "fail") for job in jobs)])
        elif metric.id == "noise":
            marks.append(["", *("warn" if job.noise_flags else "" for job in jobs)])
        else:
            marks.append(["", *("best" if flag else "" for flag in best)])
        keys.append([math.nan, *(math.nan if v is None or not math.isfinite(v) else v for v in values)])
    return Table(
        _texts(rows, columns), ("left", *("right",) * len(jobs)),
        marks=pd.DataFrame(marks, columns=columns, dtype=object),
        sort_keys=pd.DataFrame(keys, columns=columns, dtype=float),
        sort="columns", row_ids=tuple(m.id for m in METRICS), row_better=tuple(m.better or "" for m in METRICS),
        id="results", title="Every measurement, job by job",
    )


def _best_cells(metric: Metric, jobs: list[JobResult], values: list[float | None]) -> list[bool]:
    """True for the one ``ok`` job whose p10-p90 range is better than every other ``ok`` job's whole
    range; all False for rows without timings (one value per job says nothing about its noise) and
    when any of the jobs was timed on a busy machine or has unstable rounds."""
    if metric.timing is None or metric.better is None or any(job.noise_flags for job in jobs if job.status == "ok"):
        return [False] * len(jobs)
    timings = [metric.timing(job) if job.status == "ok" else None for job in jobs]
    present = [i for i, timing in enumerate(timings) if timing is not None]
    if len(present) < 2:
        return [False] * len(jobs)
    lower = metric.better == "lower"
    best = min(present, key=lambda i: timings[i].median_ms) if lower else max(present, key=lambda i: timings[i].median_ms)
    clear = all((timings[best].p90_ms < timings[i].p10_ms) if lower else (timings[best].p10_ms > timings[i].p90_ms)
                for i in present if i != best)
    return [clear and i == best for i in range(len(jobs))]


# ----------------------------------------------------------------------------- settings


def settings_of(view: RunView, network: str, framework: str) -> dict[str, Any]:
    """The settings the framework resolved: from its training job, else from its params check."""
    for job in view.jobs_of(network):
        if job.framework == framework and job.effective_settings:
            return job.effective_settings
    return view.run.framework_params.get(network, {}).get(framework, {}).get("effective_settings", {})


SettingRows = Literal["differing", "alike"]


def settings_table(view: RunView, network: str, which: SettingRows) -> Table | None:
    """Hyperparameters as each framework resolved them, side by side, defaults flagged: the rows where
    the frameworks differ or one used its own default (``differing``), or all the others (``alike``).
    Together the two tables hold every setting once."""
    per_framework = {fw: settings_of(view, network, fw) for fw in view.frameworks}
    per_framework = {fw: groups for fw, groups in per_framework.items() if groups}
    if not per_framework:
        return None
    layer_order = [layer["name"] for layer in view.run.networks.get(network, {}).get("layers", [])]
    groups = {group for groups in per_framework.values() for group in groups}
    ordered = [g for g in layer_order if g in groups] + sorted(groups - set(layer_order))
    columns = ["group", "setting", "spec", *per_framework, "notes"]
    rows, marks = [], []
    for group in ordered:
        names = sorted({name for groups in per_framework.values() for name in groups.get(group, {})})
        for name in names:
            entries = {fw: _setting(groups.get(group, {}).get(name)) for fw, groups in per_framework.items()}
            neutral = next((e["neutral"] for e in entries.values() if e and e.get("neutral") is not None), None)
            row = [group, name, fmt.plain(neutral)]
            mark_row: list[Mark] = ["", "", ""]
            for entry in entries.values():
                if entry is None:
                    row.append(fmt.MISSING)
                    mark_row.append("")
                    continue
                flagged = bool(entry.get("default"))
                row.append(fmt.plain(entry.get("value")) + (f" {DEFAULT_FLAG}" if flagged else ""))
                mark_row.append("flag" if flagged else "")
            notes = [f"{fw}: {entry['note']}" for fw, entry in entries.items() if entry and entry.get("note")]
            differs = len(set(row[3:])) > 1 or "flag" in mark_row
            if differs != (which == "differing"):
                continue
            rows.append([*row, "; ".join(notes)])
            marks.append([*mark_row, ""])
    if not rows:
        return None
    align = ("left",) * len(columns)
    return Table(_texts(rows, columns), align, marks=pd.DataFrame(marks, columns=columns, dtype=object),
                 id=f"settings-{network}" + ("" if which == "differing" else "-alike"),
                 title=f"{network}: settings that differ or are framework defaults" if which == "differing"
                 else f"{network}: settings every framework resolved alike")


def _setting(raw: Any) -> dict[str, Any] | None:
    if raw is None:
        return None
    return raw if isinstance(raw, dict) and "value" in raw else {"value": raw}


# ----------------------------------------------------------------------------- notes


def notes(view: RunView) -> list[str]:
    """What a reviewer must know: run notes, failed and diverged jobs, data stand-ins, mismatches."""
    # `harness run` notes each job that did not finish ok in its own words; the report's own line says more.
    said = tuple(f"{job.network} / {job.framework} / seed {job.seed}: " for job in view.jobs if job.status != "ok")
    run_notes = [note for note in view.run.notes if not note.startswith(said)]
    items = [*run_notes, *_job_notes(view), *_weight_notes(view), *_data_notes(view), *_check_notes(view),
             *_parity_notes(view)]
    return [item for item in dict.fromkeys(items) if not IN_BANNERS.search(item)]


def _job_notes(view: RunView) -> list[str]:
    items = []
    for job in view.jobs:
        if job.status != "ok":
            where = f"{job.network} · {job.framework} (seed {job.seed})"
            reason = " ".join(job.reason.split())[:NOTE_CHARS] if job.reason else "no reason recorded"
            done = f", after {len(job.history)} of {job.epochs_requested} epochs" if job.status != "skipped" else ""
            items.append(f"{where} {job.status}{done}: {reason}")
    return items


def _weight_notes(view: RunView) -> list[str]:
    """Where each network's starting weights came from (train.init from a weight file), once per file."""
    started: dict[tuple[str, str], list[str]] = {}
    for job in view.jobs:
        if job.weight_sources is not None:
            started.setdefault((job.network, job.weight_sources.summary()), []).append(job.framework)
    return [f"{network} started from {summary} in {', '.join(dict.fromkeys(frameworks))}"
            for (network, summary), frameworks in started.items()]


def _data_notes(view: RunView) -> list[str]:
    """The data sets' own notes (a substitution is in the banner, not here)."""
    return [note for job in view.jobs if job.data is not None for note in job.data.notes]


def _check_notes(view: RunView) -> list[str]:
    items = []
    for network in view.networks:
        for framework, entry in view.run.framework_params.get(network, {}).items():
            if "params" not in entry:
                error = first_line(str(entry.get("error", "no reason recorded")))
                items.append(f"{network} could not be built in {framework}: {error}")
        for check in view.run.networks.get(network, {}).get("expect", []):
            if not check.get("ok", True):
                what = f"{'backbone ' if check.get('scope') == 'backbone' else ''}{check['field']}"
                items.append(f"{network}: the published {what} count {check['expected']:,} differs from "
                             f"the oracle's {check['actual']:,}.")
    return items


def _parity_notes(view: RunView) -> list[str]:
    items = []
    for entry in view.run.parity:
        if entry.get("passed") is False:
            layer = entry.get("first_divergent_layer")
            items.append(f"Parity failed on {entry.get('network')}: {entry.get('a')} vs {entry.get('b')}"
                         + (f", first divergent layer {layer}." if layer else "."))
    return items


def definitions(view: RunView) -> list[str]:
    """How the jobs defined each measured figure, as they recorded it."""
    merged: dict[str, str] = {}
    for job in view.jobs:
        for name, text in job.definitions.items():
            merged.setdefault(name, text)
    return [f"{name}: {merged[name]}" for name in sorted(merged)]
