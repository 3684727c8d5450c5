"""The published notes and figures the results record (each spec's ``expect.reference``) are rendered
in the Summary beside what the run measured."""

from __future__ import annotations

from pathlib import Path

from report_support import REPO, sample_run, write_run

from harness.report import load_results, write_report
from harness.report.model import RunView
from harness.report.published import published_blocks
from harness.spec.schema import Reference


def test_a_published_time_and_note_stand_beside_the_measured_time_per_sample(tmp_path: Path) -> None:
    run = sample_run(epochs=2, samples=30)
    run.networks["lenet_stride2"].reference = Reference(us_per_sample=111, note="45% slower than the dense version.",
                                                        source="E5e")
    write_report(write_run(run, tmp_path))
    summary = (tmp_path / "report.md").read_text(encoding="utf-8").split("## Plots")[0]
    row = next(line for line in summary.splitlines() if line.startswith("| lenet_stride2") and "µs" in line)
    assert "111 µs per sample (training); 45% slower than the dense version." in row and "E5e" in row
    keras = next(job for job in run.jobs if job.network == "lenet_stride2" and job.framework == "keras")
    assert keras.step_time is not None
    measured = f"keras: {keras.final_test_accuracy:.4f} (n=1), {keras.step_time.median_ms * 1000 / 64:,.0f} µs per sample"
    assert measured in row and "after 2 epochs: " in row
    assert "paddle" not in row  # its lenet_stride2 job failed: nothing measured to stand beside


def test_a_network_with_only_a_published_accuracy_gets_no_row() -> None:
    run = sample_run(epochs=2, samples=30)
    for check in run.networks.values():
        check.reference = Reference(test_accuracy=0.98, source="E3")
    assert published_blocks(RunView(run)) == ()
    run.networks["lenet"].reference = Reference(test_accuracy=0.98, top2_accuracy=0.99)
    assert "top-2 accuracy 0.9900" in published_blocks(RunView(run))[0].frame.iloc[0, 1]  # type: ignore[attr-defined]


def test_the_committed_e2_results_render_not_converged_beside_what_ran() -> None:
    view = RunView(load_results(REPO / "reports/mnist_heads/results.json"))
    table = published_blocks(view)[0]
    rows = {row[0]: row for row in table.frame.itertuples(index=False)}  # type: ignore[attr-defined]
    assert "Not converged in 10 epochs" in rows["fcn"][1] and "Not converged in 10 epochs" in rows["size_agnostic"][1]
    assert all(f"{framework}: " in rows["fcn"][2] for framework in view.frameworks)
