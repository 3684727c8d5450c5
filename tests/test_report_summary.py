"""The Summary: first in the report, the finding in numbers with its certainty, short lines."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from report_support import REPO, sample_run, write_run
from scipy import stats as scipy_stats

from harness.report import load_results, write_report
from harness.report.markdown import MAX_LINE
from harness.report.model import RunView
from harness.report.plots import comparison_chart
from harness.report.stats import difference, estimate
from harness.report.summary import findings, groups, problems
from harness.results import RunResults

ACCURACY = {  # (network, framework) -> final test accuracy of seeds 0, 1, 2
    ("lenet", "keras"): [0.8901, 0.8932, 0.8915], ("lenet_stride2", "keras"): [0.8987, 0.9003, 0.8979],
    ("lenet", "torch"): [0.8952, 0.8990, 0.8921], ("lenet_stride2", "torch"): [0.8949, 0.8968, 0.8977],
    ("lenet", "paddle"): [0.8959, 0.8930, 0.8970], ("lenet_stride2", "paddle"): [0.8954, 0.8941, 0.8990],
}


def three_seeds() -> RunResults:
    """Every job ok, in seeds 0-2, with the final accuracies of ``ACCURACY``."""
    run = sample_run(epochs=2, samples=30)
    jobs = []
    for seed in range(3):
        for job in run.jobs:
            copy = job.model_copy(deep=True, update={"seed": seed, "status": "ok", "reason": None})
            copy.history[-1].test_accuracy = ACCURACY[(job.network, job.framework)][seed]
            jobs.append(copy)
    return run.model_copy(update={"jobs": jobs})


def render(run: RunResults, directory: Path) -> str:
    write_report(write_run(run, directory))
    return (directory / "report.md").read_text(encoding="utf-8")


def summary_of(markdown: str) -> str:
    return markdown.split("\n## Summary\n", 1)[1].split("\n## ", 1)[0]


def summary_rows(markdown: str) -> dict[tuple[str, str], dict[str, str]]:
    """The Summary's per-framework table: (network, framework) -> column -> cell."""
    lines = [line for line in summary_of(markdown).splitlines() if line.startswith("|")]
    tables, current = [], []
    for line in lines:
        if current and line.startswith("| network") and "framework" in line:
            tables.append(current)
            current = []
        current.append(line)
    tables.append(current)
    table = next(t for t in tables if "framework" in t[0])
    split = [[cell.strip() for cell in re.split(r"(?<!\\)\|", row)[1:-1]] for row in table]
    head, rows, network = split[0], {}, ""
    for cells in split[2:]:
        network = cells[0] or network
        rows[(network, cells[1])] = dict(zip(head, cells))
    return rows


def lines_outside_details(markdown: str) -> list[str]:
    lines, depth = [], 0
    for line in markdown.splitlines():
        depth += line.count("<details>")
        if depth == 0:
            lines.append(line)
        depth -= line.count("</details>")
    return lines


@pytest.fixture(scope="module")
def one_seed(tmp_path_factory: pytest.TempPathFactory) -> str:
    return render(sample_run(), tmp_path_factory.mktemp("one"))


@pytest.fixture(scope="module")
def three(tmp_path_factory: pytest.TempPathFactory) -> str:
    return render(three_seeds(), tmp_path_factory.mktemp("three"))


def test_the_summary_is_the_first_section_and_states_accuracy_with_n_and_speed(one_seed: str, three: str) -> None:
    for markdown in (one_seed, three):
        assert re.findall(r"^## .*$", markdown, re.MULTILINE)[0] == "## Summary"
        summary = summary_of(markdown)
        assert "step, ms: median [p10–p90]" in summary and "images/s" in summary
        assert len(lines_outside_details(summary.strip())) <= 40  # what a reader sees open; the findings fold wide tables
    assert "test accuracy (n=1)" in summary_of(one_seed)
    assert "test accuracy (n=3)" in summary_of(three) and " ± " in summary_of(three)


def test_one_seed_bolds_no_accuracy_and_names_no_best(one_seed: str) -> None:
    summary = summary_of(one_seed)
    assert "**" not in summary.replace("**Data substituted:**", "")
    assert "best" not in summary.lower()
    assert "n=1" in summary and "no uncertainty estimate" in summary
    rows = summary_rows(one_seed)
    assert rows[("lenet_stride2", "keras")]["Δ accuracy, points"] == "+0.04"


def test_failed_and_diverged_jobs_are_named_in_the_summary(one_seed: str) -> None:
    summary = " ".join(summary_of(one_seed).split())
    assert "Not ok: lenet · torch · seed 0 diverged after 4 of 10 epochs: train loss became nan" in summary
    assert "Not ok: lenet_stride2 · paddle · seed 0 failed after 2 of 10 epochs" in summary
    assert summary_rows(one_seed)[("lenet_stride2", "paddle")]["test accuracy (n=1)"] == "failed"


def test_three_seeds_give_the_mean_and_confidence_interval_scipy_gives(three: str) -> None:
    rows = summary_rows(three)
    for (network, framework), values in ACCURACY.items():
        interval = scipy_stats.ttest_1samp(values, 0.0).confidence_interval(0.95)
        mean = sum(values) / 3
        assert rows[(network, framework)]["test accuracy (n=3)"] == f"{mean:.4f} ± {interval.high - mean:.4f}"


def test_three_seeds_give_the_paired_t_test_scipy_gives_and_bold_only_significant_differences(three: str) -> None:
    rows = summary_rows(three)
    significant = []
    for framework in ("keras", "paddle", "torch"):
        base, variant = ACCURACY[("lenet", framework)], ACCURACY[("lenet_stride2", framework)]
        result = scipy_stats.ttest_rel(variant, base)
        interval = result.confidence_interval(0.95)
        cell = rows[("lenet_stride2", framework)]["Δ accuracy, points"]
        text = (f"{(sum(variant) - sum(base)) / 3 * 100:+.2f} ± {(interval.high - interval.low) / 2 * 100:.2f} "
                f"(p={result.pvalue:.2g})")
        bold = result.pvalue < 0.05
        assert cell == (f"**{text}**" if bold else text)
        if bold:
            significant.append(framework)
    assert significant == ["keras"], "the fixture has one significant difference and two within the noise"
    finding = " ".join(summary_of(three).split())
    assert "(keras, p=" in finding and "significant" in finding


def test_unmatched_seeds_use_welchs_test_as_scipy_computes_it() -> None:
    a, b = {0: 0.81, 1: 0.83, 2: 0.82}, {3: 0.86, 4: 0.84, 5: 0.87, 6: 0.85}
    result = scipy_stats.ttest_ind(list(b.values()), list(a.values()), equal_var=False)
    found = difference(a, b)
    assert found is not None and found.test == "Welch's t-test"
    assert found.p_value == pytest.approx(result.pvalue)
    assert (found.low, found.high) == pytest.approx(tuple(result.confidence_interval(0.95)))
    assert estimate([0.5]) is not None and estimate([0.5]).half_width is None
    assert difference({0: 0.5}, {0: 0.6}).p_value is None


def test_a_substituted_data_set_gets_a_banner_and_the_published_figure_is_not_comparable(one_seed: str) -> None:
    top = one_seed.split("\n## ", 1)[0].replace("\n> ", " ").replace("\n ", "\n> ")
    assert "> **Data substituted:** fashion-mnist stood in for mnist, the data set the spec names" in top
    assert "0.9837, not comparable (published on mnist)" in summary_of(one_seed)


def test_a_network_that_diverged_or_did_not_learn_is_named_in_the_training_outcome_words(tmp_path: Path) -> None:
    run = sample_run(epochs=2, samples=30)
    for job in run.jobs:
        if job.network == "lenet_stride2" and job.history:
            job.history[-1].test_accuracy = 0.1  # 1,000 of 10,000 test images: not above chance
        if job.network == "lenet" and job.framework == "keras":
            job.history[0].train_loss = 50.0  # above 5 x ln(10): diverged, though its accuracy is high
    summary = " ".join(summary_of(render(run, tmp_path)).split())
    trouble = "lenet diverged (keras); lenet_stride2 did not learn (keras, torch)"
    assert f"Training outcome: {trouble} (see the training outcome above)" in summary
    assert f"no accuracy finding, since {trouble}" in summary
    assert "near chance" not in summary


def test_no_network_learning_anywhere_leaves_the_run_without_an_accuracy_finding(tmp_path: Path) -> None:
    run = sample_run(epochs=2, samples=30)
    for job in run.jobs:
        if job.history:
            job.history[-1].test_accuracy = 0.1
    summary = " ".join(summary_of(render(run, tmp_path)).split())
    assert "No network learned in any framework: lenet did not learn (keras, paddle)" in summary
    assert "so this run has no accuracy finding." in summary


def test_the_summary_table_is_the_first_table_in_the_html(tmp_path: Path) -> None:
    render(sample_run(), tmp_path)
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert html.index('<section id="summary">') < html.index("<table") < html.index('<section id="plots">')
    assert html.index('<section id="plots">') < html.index('<section id="run">')


def test_the_statistics_of_a_group_match_its_jobs() -> None:
    found = groups(RunView(three_seeds()))
    group = found[("lenet", "keras")]
    assert group.estimate is not None and group.estimate.n == 3
    medians = sorted(job.step_time.median_ms for job in group.jobs)
    assert group.step is not None and group.step.median == medians[1]
    assert group.images_per_second == pytest.approx(64_000 / medians[1])


def test_no_line_outside_details_is_longer_than_the_limit(one_seed: str, three: str) -> None:
    for markdown in (one_seed, three):
        assert max(len(line) for line in lines_outside_details(markdown)) <= MAX_LINE


@pytest.mark.parametrize("report", sorted(REPO.glob("reports/*/report.md")), ids=lambda path: path.parent.name)
def test_every_committed_report_leads_with_its_summary_in_short_lines(report: Path) -> None:
    markdown = report.read_text(encoding="utf-8")
    too_long = [line for line in lines_outside_details(markdown) if len(line) > MAX_LINE]
    assert too_long == []
    assert re.findall(r"^## .*$", markdown, re.MULTILINE)[0] == "## Summary"


def test_the_comparison_chart_has_error_bars_an_accuracy_axis_from_chance_and_a_labelled_log_time_axis() -> None:
    view = RunView(three_seeds())
    figure, caption = comparison_chart(view)
    accuracy_axes, time_axes = figure.axes[:2]
    assert accuracy_axes.get_ylim() == pytest.approx((0.1, 1.0)) and "chance" in accuracy_axes.get_ylabel()
    bars = [c for c in accuracy_axes.containers if c.has_yerr]
    assert len(bars) == 6, "one 95% interval per network and framework"
    segment = bars[0].lines[2][0].get_segments()[0]
    interval = scipy_stats.ttest_1samp(ACCURACY[("lenet", "keras")], 0.0).confidence_interval(0.95)
    assert (segment[0][1], segment[1][1]) == pytest.approx((interval.low, interval.high))
    assert time_axes.get_yscale() == "log" and "log scale" in time_axes.get_ylabel()
    assert "from chance (0.1) to 1" in caption and "log scale" in caption


def test_the_summary_opens_with_the_published_findings_and_the_training_outcomes(three: str) -> None:
    summary = summary_of(three)
    assert summary.index("Published findings") < summary.index("step, ms: median [p10–p90]")
    row = next(line for line in summary.splitlines() if line.startswith("| Stride-2 convolutions are slightly"))
    assert "+0.27 pts" in row  # the published effect
    cells = [cell.strip() for cell in row.split("|")[1:-1]]
    assert all(cell.startswith(("holds", "contradicted", "undecided")) for cell in cells[3:])
    assert "needs" in row and "seeds" in row  # three seeds cannot decide a 0.27-point claim in every framework
    assert "Training outcome: every job learned" in summary or "| network" in summary


def test_the_committed_e1_results_read_diverged_and_did_not_learn_never_near_chance() -> None:
    """E1 as committed (tests/fixtures/e1_mobilenetv2_heads): every Flatten job diverged, every GAP job
    did not learn; the Summary says so in those words, and draws no accuracy finding."""
    view = RunView(load_results(REPO / "tests/fixtures/e1_mobilenetv2_heads/results.json"))
    found = groups(view)
    assert {g.trouble for (network, _), g in found.items() if network.endswith(":flatten")} == {"diverged"}
    assert {g.trouble for (network, _), g in found.items() if network.endswith(":gap")} == {"did not learn"}
    text = " ".join([*findings(view, found), *problems(view, found)])
    assert "flatten diverged (jax, keras, keras-jax, keras-torch, paddle, torch)" in text
    assert "so this run has no accuracy finding" in text and "near chance" not in text
