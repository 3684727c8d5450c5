"""``harness run --threads 1,2``: every job at each thread count, with the count in its identity."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from run_support import write_spec

from harness.cli import main
from harness.commands.run import options_record, parse_threads
from harness.results import read_run
from harness.runner.jobs import RunOptions, plan_jobs
from harness.spec import load_network


def harness_run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["run", *args, "--quiet", "--no-report", "--warmup-steps", "0", "--latency-repeats", "2"])
    return result.exit_code, result.output


def test_several_thread_counts_make_separate_jobs(tmp_path: Path) -> None:
    network = load_network(write_spec(tmp_path))
    jobs = plan_jobs([network], RunOptions(frameworks=["torch", "keras"], threads=[1, 2]))
    assert [(job.config.threads, job.config.framework) for job in jobs] == [(1, "torch"), (1, "keras"), (2, "torch"), (2, "keras")]
    assert [job.file_name for job in jobs[::2]] == ["tiny__torch__seed0__t1.json", "tiny__torch__seed0__t2.json"]
    assert jobs[2].key == "tiny / torch / seed 0 / 2 threads"
    assert len({job.file_name for job in jobs}) == len({job.key for job in jobs}) == 4


def test_one_thread_count_keeps_the_earlier_names(tmp_path: Path) -> None:
    network = load_network(write_spec(tmp_path))
    options = RunOptions(frameworks=["torch"], threads=3)
    (job,) = plan_jobs([network], options)
    assert options.threads == [3] and job.config.threads == 3
    assert job.file_name == "tiny__torch__seed0.json" and job.key == "tiny / torch / seed 0"
    assert options_record(options, None)["threads"] == 3
    assert options_record(RunOptions(frameworks=["torch"], threads=[1, 2]), None)["threads"] == [1, 2]


@pytest.mark.parametrize(("text", "expected"), [("2", [2]), ("1,2", [1, 2]), ("2, 1,2", [2, 1])])
def test_parse_threads(text: str, expected: list[int]) -> None:
    assert parse_threads(text) == expected


@pytest.mark.parametrize("text", ["0", "a,b", ",", "1,-2"])
def test_bad_thread_lists_are_clear_errors(tmp_path: Path, text: str) -> None:
    code, output = harness_run(str(write_spec(tmp_path)), "--threads", text, "--dry-run")
    assert code == 2 and "--threads" in output and "Traceback" not in output


def test_run_and_resume_with_a_thread_list(tmp_path: Path, fake_plugin: None) -> None:
    out, spec = tmp_path / "out", str(write_spec(tmp_path))
    code, output = harness_run(spec, "--framework", "fake", "--threads", "1,2", "--out", str(out))
    assert code == 0, output
    run = read_run(out / "results.json")
    assert [(job.environment.threads, job.status) for job in run.jobs] == [(1, "ok"), (2, "ok")]
    assert sorted(path.name for path in (out / "jobs").glob("*.json")) == ["tiny__fake__seed0__t1.json", "tiny__fake__seed0__t2.json"]
    assert run.settings["threads"] == [1, 2]
    first = (out / "jobs" / "tiny__fake__seed0__t2.json").read_text()
    code, output = harness_run(spec, "--framework", "fake", "--threads", "1,2", "--out", str(out), "--resume")
    assert code == 0 and output.count("kept") == 2, output
    assert (out / "jobs" / "tiny__fake__seed0__t2.json").read_text() == first
    code, output = harness_run(spec, "--framework", "fake", "--threads", "1,3", "--out", str(out), "--resume")
    assert code == 0 and output.count("kept") == 1, "only the 1-thread job is the same job"
    code, output = harness_run(spec, "--framework", "fake", "--threads", "2", "--out", str(out), "--resume")
    assert code == 0 and "kept" not in output, "a single-count run does not pick up another run's files"
