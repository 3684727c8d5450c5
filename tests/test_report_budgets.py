"""A report's committed text (report.md, results.json, jobs/*.json) stays within what a pull request
can show (harness.budgets), whatever the network: the largest case built here, and every committed report."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from harness.budgets import MARKDOWN_BYTES, committed_text, over_budget
from harness.report import write_report
from harness.report.document import Report, Section, Split, Table, capped
from harness.report.html import render_html
from harness.report.markdown import render_markdown
from harness.results import Epoch, read_run, write_job, write_run
from harness.runner.jobs import JOBS_FOLDER

REPO = Path(__file__).resolve().parents[1]
REPORTS = sorted(path.parent for path in (REPO / "reports").glob("*/results.json"))
MOBILENET = REPO / "reports" / "mobilenetv2_heads"
SEEDS = 3
EPOCHS = 10


@pytest.fixture(scope="module")
def largest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """MobileNetV2 (three heads, 151 layers each) in six frameworks, three seeds, ten epochs: the committed
    run's real settings and layer counts, its jobs repeated per seed with a longer history, written as
    `harness run` writes a run (a file per job, results.json) and reported."""
    run = read_run(MOBILENET / "results.json")
    assert len(run.networks) == 3 and len({job.framework for job in run.jobs}) == 6
    assert max(len(check.layers) for check in run.networks.values()) > 150
    jobs = []
    for seed in range(SEEDS):
        for job in run.jobs:
            last = job.history[-1]
            history = [last.model_copy(update={"epoch": epoch, "train_loss": last.train_loss / (epoch + 1)})
                       for epoch in range(1, EPOCHS + 1)]
            jobs.append(job.model_copy(update={"seed": seed, "history": history}))
    run = run.model_copy(update={"jobs": jobs})
    directory = tmp_path_factory.mktemp("largest")
    for job in run.jobs:
        write_job(directory / JOBS_FOLDER / f"{job.network}__{job.label}__seed{job.seed}.json".replace(":", "-"), job)
    write_run(directory / "results.json", run)
    write_report(directory / "results.json")
    return directory


def test_the_largest_case_is_as_large_as_promised(largest: Path) -> None:
    run = read_run(largest / "results.json")
    assert len(run.jobs) == 3 * 6 * SEEDS and all(len(job.history) == EPOCHS for job in run.jobs)
    assert sum(len(groups) for groups in run.jobs[0].effective_settings.values()) > 300
    assert isinstance(run.jobs[0].history[0], Epoch)
    assert len(list((largest / JOBS_FOLDER).glob("*.json"))) == len(run.jobs)


def test_the_largest_case_meets_every_budget(largest: Path) -> None:
    assert over_budget(largest) == []
    markdown = next(file for file in committed_text(largest) if file.path.name == "report.md")
    assert markdown.bytes < MARKDOWN_BYTES * 0.9


@pytest.mark.parametrize("report", REPORTS, ids=[path.name for path in REPORTS])
def test_every_committed_report_meets_every_budget(report: Path) -> None:
    assert over_budget(report) == []


def test_a_long_table_shows_its_first_rows_in_markdown_and_all_in_html() -> None:
    frame = pd.DataFrame({"layer": [f"conv_{i}" for i in range(100)], "framework": ["torch"] * 100})
    table = Table(frame, ("left", "left"), marks=pd.DataFrame("", index=frame.index, columns=frame.columns))
    assert capped(table, 100) is table
    split = capped(table, 40)
    assert isinstance(split, Split) and split.html == (table,)
    text, first = split.markdown
    assert len(first.frame) == 40 and len(first.marks) == 40 and "first 40 of 100 rows" in text.text
    report = Report("t", (), (Section("Layers", "layers", (split,)),))
    assert "conv_39" in render_markdown(report) and "conv_40" not in render_markdown(report)
    assert "conv_99" in render_html(report) and "first 40 of 100" not in render_html(report)
