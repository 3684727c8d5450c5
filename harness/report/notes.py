"""The report's "Notes" section: run notes, failed and diverged jobs, data notes, mismatches."""

from __future__ import annotations

from harness.report.banners import IN_BANNERS
from harness.report.document import Bullets, Section, Text
from harness.report.model import RunView, first_line


NOTE_CHARS = 600


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
        for framework, entry in view.counts(network).items():
            if entry.params is None:
                error = first_line(entry.error or "no reason recorded")
                items.append(f"{network} could not be built in {framework}: {error}")
        for check in view.check(network).expect:
            if not check.ok:
                what = f"{'backbone ' if check.scope == 'backbone' else ''}{check.field}"
                items.append(f"{network}: the published {what} count {check.expected:,} differs from "
                             f"the oracle's {check.actual:,}.")
    return items


def _parity_notes(view: RunView) -> list[str]:
    items = []
    for entry in view.run.parity:
        if entry.passed is False:
            layer = entry.first_divergent_layer
            items.append(f"Parity failed on {entry.network}: {entry.a} vs {entry.b}"
                         + (f", first divergent layer {layer}." if layer else "."))
    return items


def notes_section(view: RunView) -> Section:
    """Everything a reviewer must know, or that there is nothing."""
    items = notes(view)
    return Section("Notes", "notes", (Bullets(tuple(items)),) if items else (Text("Nothing to report."),))
