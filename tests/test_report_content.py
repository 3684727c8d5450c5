"""What a report says: every section, failures with their reasons, best values, agreement marks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from report_support import DIVERGED, FAILED, sample_run, write_run

from harness.report import write_report
from harness.results import FrameworkCount, LayerParams, Params, RunResults, TrainParityEntry

SECTIONS = ("Summary", "Plots", "Parameter agreement", "Results", "Architecture", "Effective settings", "Run", "Notes",
            "Reading this report")


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("report")
    write_report(write_run(sample_run(), directory))
    return directory


@pytest.fixture(scope="module")
def markdown(report_dir: Path) -> str:
    return (report_dir / "report.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def html(report_dir: Path) -> str:
    return (report_dir / "report.html").read_text(encoding="utf-8")


def section(markdown: str, title: str) -> str:
    """The Markdown of one ``## `` section."""
    return markdown.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def flat(text: str) -> str:
    """``text`` with every run of whitespace as one space (wrapped prose unwrapped)."""
    return " ".join(text.split())


def results_rows(markdown: str) -> dict[str, list[str]]:
    """The results table as row label -> cells."""
    section = markdown.split("## Results\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    cells = [[cell.strip() for cell in re.split(r"(?<!\\)\|", row)[1:-1]] for row in rows]
    return {row[0]: row[1:] for row in cells[2:]} | {"": cells[0][1:]}


def test_every_section_is_there_in_order(markdown: str, html: str) -> None:
    positions = [markdown.index(f"\n## {title}\n") for title in SECTIONS]
    assert positions == sorted(positions)
    for title in SECTIONS:
        assert f"<h2>{title}</h2>" in html


def test_header_gives_spec_data_seeds_device_threads_versions_and_the_recorded_date_once(markdown: str) -> None:
    header = markdown.split("## Run\n", 1)[1].split("\n### ", 1)[0]
    for expected in ("specs/lenet.yaml, specs/lenet_stride2.yaml", "fashion-mnist (standing in for mnist)",
                     "sha256 9f2c5a7d1e6b4c3a", "| seeds | 0 |", "| device | cpu |", "| threads | 2 |",
                     "torch 2.13.0", "paddle 3.3.0", "commit 3b6e9b3c0ffe"):
        assert expected in header
    assert len([line for line in markdown.splitlines() if "2025-06-01" in line]) == 1
    assert "2025-06-01 10:00:00 UTC to 2025-06-01 11:30:00 UTC" in header
    assert "thread pools and determinism settings" in section(markdown, "Run") and "<summary>Frameworks" not in markdown


def test_the_frameworks_thread_pools_and_determinism_are_in_the_html(html: str) -> None:
    frameworks = html.split("<summary>Frameworks", 1)[1].split("</details>", 1)[0]
    assert "<tr><td>thread_pools.openmp</td><td>2</td><td>2</td><td>2</td></tr>" in frameworks
    assert "<tr><td>thread_pools.torch.intra_op</td><td>—</td><td>—</td><td>2</td></tr>" in frameworks


def test_architecture_counts_layers_by_type_and_the_html_shows_the_oracle_layer_table(markdown: str, html: str) -> None:
    architecture = flat(section(markdown, "Architecture"))
    assert ("- lenet: input 28x28x1, 61,706 parameters, 416,520 MACs per image; 8 layers: 2 conv, 2 max_pool, "
            "1 flatten, 3 dense") in architecture, architecture
    assert "| conv_2" not in section(markdown, "Architecture")
    assert "<summary>lenet_stride2: input 28x28x1, 66,346 parameters, 911,496 MACs per image</summary>" in html
    assert re.search(r"<td>conv_2</td><td>conv</td><td>12x12x16</td><td class=\"num\"[^>]*>2,416</td>", html)
    assert "61,706" in html and "911,496" in html


def test_results_have_one_column_per_network_and_framework_with_status_and_reasons(markdown: str) -> None:
    rows = results_rows(markdown)
    assert rows[""] == [f"{n} · {f}" for n in ("lenet", "lenet_stride2") for f in ("keras", "paddle", "torch")]
    status = dict(zip(rows[""], rows["status"]))
    assert status["lenet · keras"] == "ok"
    assert status[" · ".join(DIVERGED)] == "diverged: train loss became nan at epoch 4, step 212"
    assert status[" · ".join(FAILED)].startswith("failed: worker exited with signal 9 (SIGKILL) \\| killed")
    assert dict(zip(rows[""], rows["epochs run"]))[" · ".join(DIVERGED)] == "4 / 10"
    for label in ("final test accuracy", "best test accuracy", "final test loss", "step time, ms: median [p10–p90]",
                  "training images/s (from the mean step time)", "inference latency, batch 1, ms", "peak memory (RSS), MiB", "achieved GFLOP/s (share of the machine's FP32 GEMM rate)",
                  "time to first step, s"):
        assert label in rows


def test_per_job_rows_bold_nothing_within_the_noise(markdown: str) -> None:
    """One seed's accuracy is never bold, and overlapping p10-p90 step times mark no best."""
    rows = results_rows(markdown)
    assert not any("**" in cell for label, cells in rows.items() if label for cell in cells)


def test_a_timing_clear_of_every_other_is_bold_only_among_ok_jobs(tmp_path: Path) -> None:
    run = sample_run(epochs=2, samples=50)
    for job in run.jobs:
        if job.step_time is not None and (job.network, job.framework) in (("lenet_stride2", "torch"), DIVERGED):
            job.step_time = job.step_time.model_copy(update={"median_ms": 1.0, "p10_ms": 0.9, "p90_ms": 1.1})
    write_report(write_run(run, tmp_path))
    rows = results_rows((tmp_path / "report.md").read_text(encoding="utf-8"))
    step = dict(zip(rows[""], rows["step time, ms: median [p10–p90]"]))
    # torch on lenet is as fast but diverged, so the mark goes to the ok job alone.
    assert [c for c, text in step.items() if text.startswith("**")] == ["lenet_stride2 · torch"]
    assert step["lenet_stride2 · torch"] == "**1.00 [0.900–1.10]**"


def test_parameter_agreement_marks_every_cell_and_shows_parity(markdown: str) -> None:
    section = markdown.split("## Parameter agreement\n", 1)[1].split("\n## ", 1)[0]
    assert re.search(r"\| lenet +\| total +\| +61,706 \| +61,706 ✓ \| +61,706 ✓ \| +61,706 ✓ \| +61,706 ✓ \|", section)
    assert "| ✗ fail" in section and "conv_2" in section and "2.40e-06" in section


def test_a_framework_that_disagrees_with_the_oracle_is_marked_and_its_layer_listed(tmp_path: Path) -> None:
    run = sample_run()
    torch = run.framework_params["lenet"]["torch"]
    torch.params = Params(trainable=61_706, non_trainable=1, total=61_707)
    torch.layers["conv_1"] = LayerParams(trainable=156, non_trainable=1)
    run.framework_params["lenet"]["paddle"] = FrameworkCount(error="ValueError: no padding rule")
    write_report(write_run(run, tmp_path))
    markdown = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "61,707 ✗ (+1)" in markdown
    assert "✗ build failed" in markdown
    assert re.search(r"\| lenet +\| conv_1 +\| torch +\| +156 / 0 \| +156 / 1 \|", markdown)
    assert "lenet could not be built in paddle: ValueError: no padding rule" in markdown
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert '<td class="num fail">61,707 ✗ (+1)</td>' in html


def test_effective_settings_side_by_side_with_defaults_flagged(html: str) -> None:
    settings = html.split('id="settings"', 1)[1].split("</section>", 1)[0]
    table = settings.split('id="table-settings-lenet"', 1)[1].split("</table>", 1)[0]
    assert "kernel_init" in table and "<td>epsilon</td>" not in table, "only differing or defaulted settings are open"
    assert re.search(r"<td>conv_1</td><td>kernel_init</td><td>—</td><td class=\"flag\">glorot_uniform \(default\)</td>"
                     r"<td class=\"flag\">xavier_normal \(default\)</td>", table)
    assert "<tr><td>optimizer</td><td>epsilon</td><td>1e-08</td><td>1e-08</td><td>1e-08</td><td>1e-08</td>" in settings
    assert "keras: explicit ZeroPadding2D" in table
    assert table.index("<td>conv_1</td>") < table.index("<td>optimizer</td>")


def test_effective_settings_in_markdown_list_each_kind_once_with_its_layers_counted(markdown: str) -> None:
    settings = section(markdown, "Effective settings")
    assert "- lenet: 3 kinds over 2 layers and groups (3 settings) differ or are framework defaults; 3 alike" in settings
    assert re.search(r"\| conv +\| kernel_init +\| — +\| glorot_uniform \(default\) +\| xavier_normal \(default\) +\|"
                     r" kaiming_uniform\(a=sqrt\(5\)\) \(default\) +\| 2 in 2 networks: conv_1 +\|", settings)
    assert settings.count("| kernel_init") == 1 and "| epsilon" not in settings and "| conv_1 " not in settings
    assert "- keras: explicit ZeroPadding2D" in settings


def test_notes_list_failures_divergence_skipped_frameworks_and_stand_in_data(markdown: str) -> None:
    notes = flat(section(markdown, "Notes"))
    assert "- framework 'mxnet' skipped" in notes
    assert "- lenet · torch (seed 0) diverged, after 4 of 10 epochs: train loss became nan at epoch 4, step 212" in notes
    assert "- lenet_stride2 · paddle (seed 0) failed, after 2 of 10 epochs: worker exited with signal 9" in notes
    assert "stood in" not in notes and "stands in" not in notes, "the banner says so once"
    assert "Parity failed on lenet_stride2: paddle vs reference, first divergent layer conv_2." in notes


def test_plots_are_svg_files_next_to_the_markdown_referenced_by_relative_path(markdown: str, report_dir: Path) -> None:
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown)
    assert images == ["comparison.svg", "curves-lenet.svg", "curves-lenet_stride2.svg"]
    for image in images:
        assert (report_dir / image).read_text(encoding="utf-8").lstrip().startswith("<?xml")


def test_a_full_run_has_no_shortened_warning(markdown: str) -> None:
    assert "Shortened run" not in markdown


def test_a_shortened_run_says_so_at_the_top(tmp_path: Path) -> None:
    write_report(write_run(sample_run(epochs=1, shortened=True), tmp_path))
    markdown = (tmp_path / "report.md").read_text(encoding="utf-8")
    top = markdown.split("\n## ", 1)[0].replace("\n> ", " ").replace("\n ", "\n> ")
    assert ("> **Shortened run:** Every network ran on 1 of the spec's 10 epochs and 512 of 60,000 training images: "
            "their figures are not comparable with a full run.") in top
    assert top.count("Shortened run") == 1, "one banner for the networks shortened alike"
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert html.index('class="warning"') < html.index('<section id="summary">')


def test_a_run_without_jobs_or_parity_still_makes_a_report(tmp_path: Path) -> None:
    run = sample_run()
    empty = RunResults(command=run.command, specs=run.specs, networks=run.networks)
    write_report(write_run(empty, tmp_path))
    markdown = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "No training jobs are recorded in this run." in markdown
    assert "No parity checks are recorded in this run." in markdown
    assert "| date     | not recorded" in markdown


def test_several_seeds_get_a_column_each_in_seed_order(tmp_path: Path) -> None:
    run = sample_run(epochs=2, samples=20)
    reseeded = [job.model_copy(update={"seed": 1}) for job in run.jobs]
    run = run.model_copy(update={"jobs": reseeded + run.jobs})
    write_report(write_run(run, tmp_path))
    columns = results_rows((tmp_path / "report.md").read_text(encoding="utf-8"))[""]
    assert columns[:2] == ["lenet · keras · seed 0", "lenet · keras · seed 1"]
    assert len(columns) == 12
    assert "| seeds | 0, 1 |" in (tmp_path / "report.md").read_text(encoding="utf-8")


def test_a_variant_key_makes_a_file_name_without_a_colon(tmp_path: Path) -> None:
    run = sample_run(epochs=2, samples=20)
    rename = {"lenet": "lenet:pool"}
    run = run.model_copy(update={
        "jobs": [job.model_copy(update={"network": rename.get(job.network, job.network)}) for job in run.jobs],
        "networks": {rename.get(key, key): value for key, value in run.networks.items()},
        "framework_params": {rename.get(key, key): value for key, value in run.framework_params.items()},
    })
    written = write_report(write_run(run, tmp_path))
    assert tmp_path / "curves-lenet-pool.svg" in written
    assert "![curves-lenet-pool](curves-lenet-pool.svg)\n\nlenet:pool: loss and accuracy per epoch" in (
        tmp_path / "report.md").read_text()


def test_first_steps_from_shared_weights_show_the_gap_between_frameworks(tmp_path: Path) -> None:
    run = sample_run()
    losses = {"keras": 2.3025851, "paddle": 2.3025849, "torch": 2.3025855}
    for job in run.jobs:
        job.first_step_losses = [losses[job.framework], 2.1]
        job.config = {"init": "shared"}
    write_report(write_run(run, tmp_path))
    steps = (tmp_path / "report.md").read_text(encoding="utf-8").split("<summary>First training steps", 1)[1]
    row = next(line for line in steps.splitlines() if line.startswith("| lenet "))
    assert "shared" in row and "keras 2.302585" in row and "torch 2.302586" in row
    assert "6.00e-07" in row


def test_no_first_steps_table_without_first_step_losses(markdown: str) -> None:
    assert "First training steps" not in markdown


def test_training_parity_and_the_batch_order_are_reported(tmp_path: Path) -> None:
    run = sample_run()
    run.train_parity = [
        TrainParityEntry(network="lenet", a="torch", b="reference", steps=5, max_loss_diff=1.2e-7, max_weight_diff=3.0e-6,
                         first_divergence=None, passed=True),
        TrainParityEntry(network="lenet", a="paddle", b="reference", steps=5, max_loss_diff=0.02, max_weight_diff=0.4,
                         first_divergence="step 2, conv_1/kernel (differs by 0.1, allowed 2e-4)", passed=False),
    ]
    for job in run.jobs:
        if job.network == "lenet":
            job.first_step_losses = [2.30, 2.25]
            job.first_step_batches = ["a1", "b2"]
            job.batch_order = "own-order" if job.framework == "paddle" else "same-order"
    write_report(write_run(run, tmp_path))
    markdown = (tmp_path / "report.md").read_text(encoding="utf-8")
    section = markdown.split("## Parameter agreement\n", 1)[1].split("\n## ", 1)[0]
    assert "Training parity" in section and "step 2, conv_1/kernel" in section and "✗ fail" in section
    assert "the batch order over all steps differs" in section
