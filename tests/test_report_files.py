"""The report's files: byte-identical on regeneration, self-contained HTML, `harness report`."""

from __future__ import annotations

import html as html_lib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from report_support import sample_run, write_run

from harness.cli import main
from harness.report import write_report

REPORT_FILES = ("report.md", "report.html", "curves-lenet.svg", "curves-lenet_stride2.svg", "comparison.svg")


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("report")
    written = write_report(write_run(sample_run(), directory))
    assert sorted(path.name for path in written) == sorted(REPORT_FILES)
    return directory


def contents(directory: Path) -> dict[str, bytes]:
    return {name: (directory / name).read_bytes() for name in REPORT_FILES}


def test_regenerating_from_the_same_results_gives_byte_identical_files(report_dir: Path) -> None:
    before = contents(report_dir)
    write_report(report_dir / "results.json")
    assert contents(report_dir) == before


def test_another_process_writes_the_same_bytes_elsewhere_with_a_copy_of_the_results(report_dir: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = tmp_path / "again"
    subprocess.run([sys.executable, "-c", "from harness.cli import main; main()", "report", str(report_dir), "--out", str(out)],
                   check=True, env=env, capture_output=True)
    assert contents(out) == contents(report_dir)
    assert (out / "results.json").read_bytes() == (report_dir / "results.json").read_bytes()


def test_svgs_carry_no_date_and_a_title(report_dir: Path) -> None:
    for name in REPORT_FILES[2:]:
        svg = (report_dir / name).read_text(encoding="utf-8")
        assert "<dc:date>" not in svg
        assert re.search(r"<title>[^<]+</title>", svg)


def test_html_is_self_contained(report_dir: Path) -> None:
    html = (report_dir / "report.html").read_text(encoding="utf-8")
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert not re.search(r"<link\b|<img\b|<iframe\b|\bsrc\s*=|@import|url\((?!#)", html, re.IGNORECASE)
    assert not re.search(r"href=\"(?!#)", html)
    assert html.count("<svg ") == 3
    assert "<?xml" not in html


def test_html_carries_the_same_text_as_the_markdown(report_dir: Path) -> None:
    markdown = (report_dir / "report.md").read_text(encoding="utf-8")
    text = html_lib.unescape(re.sub(r"<[^>]+>", "", (report_dir / "report.html").read_text(encoding="utf-8")))
    cells = {html_lib.unescape(cell.strip().strip("*").replace("\\|", "|").replace("\\", ""))
             for line in markdown.splitlines() if line.startswith("| ")
             for cell in re.split(r"(?<!\\)\|", line)[1:-1]}
    cells -= {"", "field", "value"}
    missing = [cell for cell in cells if not set(cell) <= set(":-") and cell not in text]
    assert missing == []
    for bullet in re.findall(r"^- (.+)$", markdown, re.MULTILINE):
        assert html_lib.unescape(bullet.replace("\\|", "|").replace("`", "")) in text


def test_report_command_writes_next_to_the_results_and_lists_the_files(tmp_path: Path) -> None:
    results = write_run(sample_run(epochs=2, samples=20), tmp_path)
    outcome = CliRunner().invoke(main, ["report", str(results)])
    assert outcome.exit_code == 0, outcome.output
    for name in REPORT_FILES:
        assert str(tmp_path / name) in outcome.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"jobs": [', "line 1, column 11: not valid JSON"),
        ('{"schema_version": 1, "jobs": [{"network": 3}]}', "jobs.0.network: Input should be a valid string"),
        ('{"schema_version": 99}', "written by a newer harness"),
    ],
)
def test_an_unreadable_results_file_gives_a_clear_error(tmp_path: Path, content: str, message: str) -> None:
    bad = tmp_path / "results.json"
    bad.write_text(content, encoding="utf-8")
    outcome = CliRunner().invoke(main, ["report", str(bad)])
    assert outcome.exit_code == 2
    assert message in outcome.output and "Traceback" not in outcome.output
    assert not (tmp_path / "report.md").exists()


def test_a_directory_without_results_is_explained(tmp_path: Path) -> None:
    outcome = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert outcome.exit_code == 2
    assert f"{tmp_path / 'results.json'}: no such file" in outcome.output


def test_recorded_text_is_escaped_in_both_formats(tmp_path: Path) -> None:
    run = sample_run(epochs=2, samples=20)
    run.notes.append("<script>alert(1)</script> *not bold* | not a cell")
    write_report(write_run(run, tmp_path))
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<li>&lt;script&gt;alert(1)&lt;/script&gt; *not bold* | not a cell</li>" in html
    markdown = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "- &lt;script&gt;alert(1)&lt;/script&gt; \\*not bold\\* \\| not a cell" in markdown
