"""``harness run``'s orchestration, driven with a fake framework plugin (no real framework needed).

The fake plugin (tests/fixtures/run_fake_plugin.py) is installed the way a third party's would
be: an entry point of the ``harness`` group in a dist-info folder on the path, which the worker
subprocesses see too (through PYTHONPATH).
"""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from run_support import harness_run, job_file, start_interruptible, write_spec
from scipy.special import log_softmax

from harness.commands.run import default_out
from harness.results import Params, RunResults, read_run
from harness.runner.jobs import RunOptions, plan_jobs
from harness.runner.measure import summarize
from harness.runner.train_task import softmax_cross_entropy
from harness.spec import load_network


def test_summarize_keeps_samples_and_robust_statistics() -> None:
    timing = summarize([0.001 * value for value in range(1, 11)] + [1.0])
    assert timing is not None
    assert timing.count == 11 and len(timing.samples_ms) == 11
    assert timing.median_ms == pytest.approx(6.0)
    assert timing.p10_ms == pytest.approx(2.0) and timing.p90_ms == pytest.approx(10.0)
    assert summarize([]) is None


def test_cross_entropy_matches_scipy() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 30, (16, 5)).astype(np.float32)
    labels = rng.integers(0, 5, 16)
    expected = -log_softmax(logits.astype(np.float64), axis=1)[np.arange(16), labels]
    np.testing.assert_allclose(softmax_cross_entropy(logits, labels), expected, rtol=1e-12)


def test_jobs_run_in_a_fixed_order(tmp_path: Path) -> None:
    first = load_network(write_spec(tmp_path, name="one.yaml"))
    second = load_network(write_spec(tmp_path, lr=0.5, name="two.yaml"))
    jobs = plan_jobs([first, second], RunOptions(frameworks=["torch", "keras"], seeds=[1, 0], epochs=3, threads=2))
    assert [(job.network.path, job.config.seed, job.config.framework) for job in jobs] == [
        (first.path, 1, "torch"), (first.path, 1, "keras"), (first.path, 0, "torch"), (first.path, 0, "keras"),
        (second.path, 1, "torch"), (second.path, 1, "keras"), (second.path, 0, "torch"), (second.path, 0, "keras"),
    ]
    assert {job.config.epochs for job in jobs} == {3} and {job.config.batch_size for job in jobs} == {32}
    assert jobs[0].file_name == "tiny__torch__seed1.json"
    assert default_out([first]) == Path("reports/tiny")


def test_run_writes_every_result(tmp_path: Path, fake_plugin: None) -> None:
    out = tmp_path / "out"
    code, output = harness_run(str(write_spec(tmp_path)), "--framework", "fake", "--seeds", "0,1", "--out", str(out))
    assert code == 0, output
    run = read_run(out / "results.json")
    assert [(job.framework, job.seed, job.status) for job in run.jobs] == [("fake", 0, "ok"), ("fake", 1, "ok")]
    job = run.jobs[0]
    assert [epoch.epoch for epoch in job.history] == [1, 2]
    assert all(epoch.steps == 2 and epoch.test_accuracy is not None for epoch in job.history)
    # 4 steps of one shape: the first is timed apart (compile_seconds), the other 3 are steady state.
    assert job.step_time is not None and job.step_time.count == 3 and len(job.step_time.samples_ms) == 3
    assert list(job.compile_seconds) == ["32x8x8x1"] and job.compile_seconds["32x8x8x1"] == job.first_step_seconds
    assert job.images_per_second and job.gflops and job.first_step_seconds is not None
    assert job.latency_batch_1 and job.latency_batch and job.latency_batch_size == 32
    assert job.data and job.data.name == "synthetic" and job.data.checksum
    assert job.environment and job.environment.threads == 1 and job.environment.thread_pools["framework"] == {"threads": 1}
    assert job.environment.determinism["seed"] == 0
    assert "gflops" in job.definitions and job.peak_rss_mb
    assert run.networks["tiny"].params and run.networks["tiny"].params.total > 0
    assert run.framework_params["tiny"]["fake"].params == Params(trainable=8 * 8 * 3 + 3, non_trainable=0, total=8 * 8 * 3 + 3)
    assert job_file(out, "fake", 1)["status"] == "ok"
    assert run.jobs[1].history[0].train_loss != job.history[0].train_loss


def test_timeout_kills_the_job_and_keeps_the_others(tmp_path: Path, fake_plugin: None) -> None:
    out = tmp_path / "out"
    code, output = harness_run(str(write_spec(tmp_path)), "--framework", "fake_hang,fake", "--timeout", "8", "--out", str(out))
    assert code == 1, output
    hung = job_file(out, "fake_hang")
    assert hung["status"] == "timeout" and "8 s timeout" in hung["reason"]
    assert [epoch["epoch"] for epoch in hung["history"]] == [1]
    assert job_file(out, "fake")["status"] == "ok"
    assert [job.status for job in read_run(out / "results.json").jobs] == ["timeout", "ok"]


def test_crash_and_out_of_memory_are_recorded_with_their_reason(tmp_path: Path, fake_plugin: None) -> None:
    out = tmp_path / "out"
    code, output = harness_run(str(write_spec(tmp_path)), "--framework", "fake_crash,fake_oom,fake", "--out", str(out))
    assert code == 1, output
    crashed, oom = job_file(out, "fake_crash"), job_file(out, "fake_oom")
    assert crashed["status"] == "failed" and "crashed on purpose" in crashed["reason"]
    assert len(crashed["history"]) == 1 and "Traceback" in crashed["log_tail"]
    assert oom["status"] == "oom"
    assert job_file(out, "fake")["status"] == "ok"
    notes = read_run(out / "results.json").notes
    assert any("fake_crash" in note and "failed" in note for note in notes)


def test_a_diverging_run_is_marked_with_its_history(tmp_path: Path, fake_plugin: None) -> None:
    out = tmp_path / "out"
    code, output = harness_run(str(write_spec(tmp_path, lr=1e6)), "--framework", "fake", "--out", str(out))
    assert code == 0, output
    job = job_file(out, "fake")
    assert job["status"] == "diverged" and "nan" in job["reason"]
    assert job["history"] and not np.isfinite(job["history"][-1]["train_loss"])
    assert job["first_step_losses"]


def test_resume_keeps_finished_jobs_with_the_same_settings(tmp_path: Path, fake_plugin: None) -> None:
    out, spec = tmp_path / "out", str(write_spec(tmp_path))
    assert harness_run(spec, "--framework", "fake", "--out", str(out))[0] == 0
    first = (out / "jobs" / "tiny__fake__seed0.json").read_text()
    code, output = harness_run(spec, "--framework", "fake", "--seeds", "0,1", "--out", str(out), "--resume")
    assert code == 0, output
    assert "(kept from an earlier run)" in output and output.count("tiny / fake / seed") == 2
    assert (out / "jobs" / "tiny__fake__seed0.json").read_text() == first
    assert [job.seed for job in read_run(out / "results.json").jobs] == [0, 1]
    code, output = harness_run(spec, "--framework", "fake", "--epochs", "1", "--out", str(out), "--resume")
    assert "kept" not in output and len(job_file(out, "fake")["history"]) == 1
    write_spec(tmp_path, lr=0.2)
    code, output = harness_run(spec, "--framework", "fake", "--epochs", "1", "--out", str(out), "--resume")
    assert "kept" not in output, "a changed spec must be trained again"


def test_same_seed_gives_the_same_losses(tmp_path: Path, fake_plugin: None) -> None:
    spec = str(write_spec(tmp_path))
    losses = []
    for name in ("a", "b"):
        assert harness_run(spec, "--framework", "fake", "--out", str(tmp_path / name))[0] == 0
        losses.append([(e["train_loss"], e["test_loss"]) for e in job_file(tmp_path / name, "fake")["history"]])
    assert losses[0] == losses[1]


def test_bad_data_path_is_a_clear_error(tmp_path: Path, fake_plugin: None) -> None:
    spec = write_spec(tmp_path)
    spec.write_text(spec.read_text().replace("{name: synthetic, train_size: 64, test_size: 32}",
                                             f"{{name: npz, path: {tmp_path / 'missing.npz'}}}"))
    code, output = harness_run(str(spec), "--framework", "fake", "--out", str(tmp_path / "out"))
    assert code == 3
    assert "missing.npz" in output and "Fix:" in output and "Traceback" not in output
    assert not (tmp_path / "out").exists()


def test_bad_checksum_is_a_clear_error(tmp_path: Path, fake_plugin: None) -> None:
    data = tmp_path / "data" / "fashion-mnist"
    data.mkdir(parents=True)
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (data / name).write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x02ab")
    spec = write_spec(tmp_path)
    code, output = harness_run(str(spec), "--framework", "fake", "--dataset", "fashion-mnist",
                               "--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / "out"))
    assert code == 3, output
    assert "checksum" in output.lower() and "Traceback" not in output


def test_unknown_framework_is_a_clear_error(tmp_path: Path, fake_plugin: None) -> None:
    code, output = harness_run(str(write_spec(tmp_path)), "--framework", "nosuch", "--out", str(tmp_path / "out"))
    assert code == 2 and "nosuch" in output and "Traceback" not in output


def test_ctrl_c_keeps_finished_results(tmp_path: Path, fake_plugin: None) -> None:
    out = tmp_path / "out"
    command = [sys.executable, "-c", "from harness.cli import main; main()", "run", str(write_spec(tmp_path)),
               "--framework", "fake,fake_hang", "--seeds", "0,1", "--quiet", "--threads", "1", "--no-report",
               "--out", str(out)]
    process = start_interruptible(command)
    deadline = time.monotonic() + 60
    while not (out / "jobs" / "tiny__fake__seed0.json").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(3)  # fake_hang is running (or starting) now
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 130, output
    run = RunResults.model_validate(json.loads((out / "results.json").read_text()))
    assert [(job.framework, job.seed, job.status) for job in run.jobs] == [
        ("fake", 0, "ok"), ("fake_hang", 0, "interrupted"), ("fake", 1, "skipped"), ("fake_hang", 1, "skipped")]
    assert job_file(out, "fake_hang")["status"] == "interrupted"


def test_dry_run_lists_the_jobs_and_trains_nothing(tmp_path: Path, fake_plugin: None) -> None:
    out = tmp_path / "out"
    code, output = harness_run(str(write_spec(tmp_path)), "--framework", "fake", "--seeds", "0,1", "--out", str(out), "--dry-run")
    assert code == 0, output
    assert "job tiny / fake / seed 0" in output and "job tiny / fake / seed 1" in output
    assert not out.exists()


def test_each_job_records_the_test_images_it_scored_and_the_report_shows_them(tmp_path: Path, fake_plugin: None) -> None:
    from click.testing import CliRunner

    from harness.cli import main

    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", str(write_spec(tmp_path)), "--framework", "fake,fake_jit", "--quiet",
                                       "--threads", "1", "--warmup-steps", "0", "--latency-repeats", "1", "--no-parity",
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    jobs = read_run(out / "results.json").jobs
    assert [job.test_images_scored for job in jobs] == [32, 32]  # the spec's test_size
    (digest,) = {job.test_images_digest for job in jobs}
    assert digest and len(digest) == 16
    for page in ("report.md", "report.html"):
        text = (out / page).read_text()
        assert f"scored 32 test images, digest {digest}" in text and jobs[0].data.checksum in text  # type: ignore[union-attr]
