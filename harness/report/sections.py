"""The report's sections, in order: the Summary first, then plots, agreement, per-job results,
thread scaling, architecture, settings, run, notes and how to read it. Each section is a module of
its own; this one only orders them. Wide and detailed tables are folded."""

from __future__ import annotations

from harness.report.architecture import architecture_section
from harness.report.banners import banners
from harness.report.document import Figure, Report
from harness.report.measurements import results_section
from harness.report.model import RunView, title
from harness.report.notes import notes_section
from harness.report.parameters import parameters_section
from harness.report.plots import plots_section
from harness.report.reading import reading_section
from harness.report.run import run_section
from harness.report.settings import settings_section
from harness.report.summary import summary_section
from harness.report.threads import thread_scaling_section


def build_report(view: RunView, per_network: dict[str, Figure], compared: Figure) -> Report:
    """The whole report for one run, given its charts."""
    return Report(
        title=title(view),
        banners=tuple(banners(view)),
        sections=(
            summary_section(view),
            plots_section(per_network, compared),
            parameters_section(view),
            results_section(view),
            *filter(None, [thread_scaling_section(view)]),
            architecture_section(view),
            settings_section(view),
            run_section(view),
            notes_section(view),
            reading_section(view),
        ),
    )
