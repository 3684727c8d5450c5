"""The HTML report in real headless Chromium: tables, charts and sorting work, nothing logs an error.

Screenshots (a wide and a phone-sized window) are saved in the test's tmp_path and, when
HARNESS_SCREENSHOT_DIR is set, copied there for a reviewer to look at.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageStat
from report_support import sample_run, write_run

from harness.report import write_report
from harness.report.model import RunView

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian: apt-get install chromium)")
CONSOLE = re.compile(r":CONSOLE[(:]")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--disable-default-apps", "--no-first-run", "--hide-scrollbars", "--mute-audio",
         "--enable-logging=stderr", "--v=0")


def chromium(profile: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium with a throwaway profile; stdout and the browser log come back."""
    command = [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *arguments]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)


def console_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if CONSOLE.search(line)]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("report")
    write_report(write_run(sample_run(), directory))
    return directory / "report.html"


def test_the_browser_log_shows_console_errors(tmp_path: Path) -> None:
    """The control for the console check below: a page that logs an error is caught."""
    page = tmp_path / "error.html"
    page.write_text("<!DOCTYPE html><title>x</title><script>undefinedFunction();</script>", encoding="utf-8")
    outcome = chromium(tmp_path / "profile", "--dump-dom", page.as_uri())
    assert any("undefinedFunction" in line for line in console_lines(outcome.stderr))


def test_tables_charts_and_sorting_render_without_console_errors(report: Path, tmp_path: Path) -> None:
    outcome = chromium(tmp_path / "profile", "--dump-dom", report.as_uri() + "#sort=images-per-second")
    assert console_lines(outcome.stderr) == []
    dom = outcome.stdout
    for table in ("summary", "summary-networks", "run", "environment", "params", "parity", "results", "settings-lenet",
                  "settings-lenet_stride2"):
        assert f'id="table-{table}"' in dom
    assert dom.count("<svg ") == 3 and dom.count("<path ") > 100
    assert dom.count('<button type="button" class="sort">') > 20

    results = re.search(r'<table id="table-results"[^>]*>.*?</table>', dom, re.DOTALL)
    assert results is not None and 'data-sorted-by="images-per-second"' in results.group(0)
    head = re.search(r"<thead>(.*?)</thead>", results.group(0), re.DOTALL).group(1)
    columns = [html.unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in re.findall(r"<th[^>]*>(.*?)</th>", head)]
    view = RunView(sample_run())
    fastest_first = sorted(view.jobs, key=lambda job: -(job.images_per_second or -1.0))
    assert columns[1:] == [view.label(job) for job in fastest_first]
    row = re.search(r'<tr data-row="images-per-second".*?</tr>', results.group(0), re.DOTALL).group(0)
    assert re.findall(r'data-sort="([^"]+)"', row) == [f"{job.images_per_second:.17g}"
                                                        for job in fastest_first if job.images_per_second]


@pytest.mark.parametrize(("name", "size"), [("wide", "1400,5200"), ("phone", "412,9000")])
def test_screenshot(report: Path, tmp_path: Path, name: str, size: str) -> None:
    png = tmp_path / f"report-{name}.png"
    outcome = chromium(tmp_path / "profile", f"--window-size={size}", f"--screenshot={png}", report.as_uri())
    assert console_lines(outcome.stderr) == []
    with Image.open(png) as image:
        assert image.size == tuple(int(n) for n in size.split(","))
        assert max(ImageStat.Stat(image.convert("L")).stddev) > 20, "the screenshot is blank"
    if os.environ.get("HARNESS_SCREENSHOT_DIR"):
        target = Path(os.environ["HARNESS_SCREENSHOT_DIR"])
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(png, target / png.name)


FOLD = 900
"""The Summary must start within this many pixels of the top: on the first screen."""
MEASURE = """<script>
window.addEventListener("load", () => {
  const box = document.getElementById("summary").getBoundingClientRect();
  document.body.dataset.summaryTop = String(Math.round(box.top));
});
</script>"""


@pytest.mark.parametrize(("name", "size"), [("wide", "1400,900"), ("laptop", "1280,800")])
def test_the_summary_is_on_the_first_screen(report: Path, tmp_path: Path, name: str, size: str) -> None:
    """The first screen shows the Summary: its box starts above the fold, in a screenshot of that screen."""
    measured = tmp_path / "measured.html"
    measured.write_text(report.read_text(encoding="utf-8").replace("</body>", MEASURE + "\n</body>"), encoding="utf-8")
    outcome = chromium(tmp_path / "profile", f"--window-size={size}", "--dump-dom", measured.as_uri())
    assert console_lines(outcome.stderr) == []
    top = re.search(r'data-summary-top="(-?\d+)"', outcome.stdout)
    assert top is not None, "the page did not measure its Summary"
    assert 0 <= int(top.group(1)) < FOLD
    png = tmp_path / f"first-screen-{name}.png"
    chromium(tmp_path / "profile", f"--window-size={size}", f"--screenshot={png}", report.as_uri())
    with Image.open(png) as image:
        assert max(ImageStat.Stat(image.convert("L")).stddev) > 20, "the first screen is blank"
    if os.environ.get("HARNESS_SCREENSHOT_DIR"):
        shutil.copyfile(png, Path(os.environ["HARNESS_SCREENSHOT_DIR"]) / png.name)


SVG_CHECK = """<script>
window.addEventListener("load", () => {
  const broken = [...document.images].filter((image) => !(image.complete && image.naturalWidth > 0));
  document.body.dataset.images = String(document.images.length);
  document.body.dataset.broken = broken.map((image) => image.getAttribute("src")).join(" ");
});
</script>"""


def test_every_committed_chart_renders_in_chromium(tmp_path: Path) -> None:
    """Every SVG chart of every committed report loads as an image (a file Chromium cannot parse has no
    width), with nothing in the console, and draws something."""
    reports = Path(__file__).resolve().parents[1] / "reports"
    charts = sorted(reports.glob("*/*.svg"))
    assert charts
    page = tmp_path / "charts.html"
    images = "\n".join(f'<img src="{chart.as_uri()}" width="720">' for chart in charts)
    page.write_text(f"<!DOCTYPE html><title>charts</title><body>{images}{SVG_CHECK}</body>", encoding="utf-8")
    outcome = chromium(tmp_path / "profile", "--allow-file-access-from-files", "--dump-dom", page.as_uri())
    assert console_lines(outcome.stderr) == []
    assert f'data-images="{len(charts)}"' in outcome.stdout and 'data-broken=""' in outcome.stdout, outcome.stdout[-2000:]
    for chart in charts[:1] + charts[-1:]:
        png = tmp_path / f"{chart.parent.name}-{chart.stem}.png"
        chromium(tmp_path / "profile", "--window-size=1000,420", f"--screenshot={png}", chart.as_uri())
        with Image.open(png) as image:
            assert max(ImageStat.Stat(image.convert("L")).stddev) > 20, f"{chart} renders blank"
