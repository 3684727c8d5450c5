"""Machine noise is recorded beside every timing, and a busy machine is marked in the report."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import main
from harness.results import Timing, read_job
from harness.runner.measure import rounds, summarize
from harness.runner.noise import NoiseProbe
from run_support import write_spec

BURN = "import time\nend = time.time() + 120\nwhile time.time() < end:\n    pass\n"


def test_rounds_are_block_medians_in_order() -> None:
    samples = [1.0] * 10 + [2.0] * 10 + [3.0] * 10
    assert rounds(samples, count=3) == [1.0, 2.0, 3.0]
    assert rounds([1.0] * 4) == []
    timing = summarize([0.001] * 60)
    assert timing is not None and len(timing.rounds_ms) == 10


def test_a_quiet_interval_has_no_flags_and_an_unstable_one_is_flagged() -> None:
    steady = Timing(median_ms=5.0, p10_ms=4.9, p90_ms=5.1, count=50, rounds_ms=[5.0, 5.1, 4.9])
    record = NoiseProbe().start().stop(steady, "test cpu")
    assert record.cores >= 1 and len(record.load_before) == 3 and record.cpu_model == "test cpu"
    assert not any(flag.startswith("unstable") for flag in record.flags)
    spiky = Timing(median_ms=5.0, p10_ms=4.9, p90_ms=15.0, count=50, rounds_ms=[5.0, 9.0])
    flags = NoiseProbe().start().stop(spiky, "test cpu").flags
    assert any("p90/median 3.00" in flag for flag in flags) and any("round 1.80" in flag for flag in flags)


@pytest.fixture
def cpu_burner():
    """One process spinning on a core for the test's duration."""
    process = subprocess.Popen([sys.executable, "-c", BURN])
    yield process
    process.kill()
    process.wait()


def test_a_cpu_burning_process_beside_a_run_marks_the_job_busy_in_the_report(tmp_path: Path, fake_plugin: None,
                                                                             cpu_burner: subprocess.Popen) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", str(write_spec(tmp_path)), "--framework", "fake_slow", "--out", str(out),
                                       "--quiet", "--threads", "1", "--warmup-steps", "0", "--latency-repeats", "3",
                                       "--no-parity"])
    assert result.exit_code == 0, result.output
    [job_path] = (out / "jobs").glob("*.json")
    noise = read_job(job_path).noise
    assert noise.busy, noise
    assert noise.other_cpu_share > 0.2
    report = (out / "report.md").read_text()
    assert "⚠ noisy" in report and "busy" in report
    assert "**" not in report.split("## Summary", 1)[1].split("\n## ", 1)[0].replace("**n=", "")
