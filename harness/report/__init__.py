"""Side-by-side reports of a run (Markdown, HTML, SVG charts), generated from its ``results.json``.

``write_report`` reads only the results file, so a report can be regenerated at any time without
re-running anything, and the same results always give byte-identical files.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from harness.outdir import prepare_output
from harness.report.html import render_html
from harness.report.markdown import render_markdown
from harness.report.model import RunView
from harness.report.plots import write_plots
from harness.report.sections import build_report
from harness.results import RunResults, read_run

RESULTS_FILE = "results.json"


def results_file(path: Path) -> Path:
    """``path`` itself, or the ``results.json`` inside it when it is a (report) directory."""
    path = Path(path)
    return path / RESULTS_FILE if path.is_dir() else path


class ResultsError(ValueError):
    """A results file that cannot be read, with a one-paragraph explanation and fix."""


FIX = "Pass the results.json that `harness run` wrote, or the report directory that holds it."


def load_results(path: Path) -> RunResults:
    """The run in ``path`` (a results file or a report directory); :class:`ResultsError` if unreadable."""
    source = results_file(path)
    if not source.is_file():
        raise ResultsError(f"{source}: no such file. {FIX}")
    try:
        return read_run(source)
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{source}, line {exc.lineno}, column {exc.colno}: not valid JSON ({exc.msg}). {FIX}") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise ResultsError(f"{source}: {exc}") from exc
    except OSError as exc:
        raise ResultsError(f"{source}: the file cannot be read ({exc.strerror or exc}). {FIX}") from exc


def write_report(results_path: Path, out_dir: Path | None = None) -> list[Path]:
    """Write ``report.md``, ``report.html`` and the SVG charts next to the results (or in ``out_dir``,
    with a copy of the results); return every file written."""
    source = results_file(results_path)
    run = load_results(source)
    directory = prepare_output(Path(out_dir) if out_dir is not None else source.parent)
    written = []
    target = directory / RESULTS_FILE
    if not target.exists() or not target.samefile(source):
        shutil.copyfile(source, target)
        written.append(target)
        for side in filter(None, (run.samples_file, run.details_file)):
            side_file = source.parent / Path(side).name
            if side_file.is_file():
                shutil.copyfile(side_file, directory / side_file.name)
                written.append(directory / side_file.name)
    view = RunView(run)
    per_network, compared = write_plots(view, directory)
    report = build_report(view, per_network, compared)
    markdown, html = directory / "report.md", directory / "report.html"
    markdown.write_text(render_markdown(report), encoding="utf-8")
    html.write_text(render_html(report), encoding="utf-8")
    written += [markdown, html, *(directory / figure.file for figure in (*per_network.values(), compared))]
    return written
