"""The Summary's framework spread: frameworks that differ on one network by more than their seed
intervals are named, with the effective settings that set them apart; frameworks that agree get no line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from report_support import REPO, sample_run, write_run
from scipy import stats as scipy_stats

from harness.framework import initializer_setting
from harness.report import load_results, write_report
from harness.report.model import RunView
from harness.report.spread import differing_settings, holm, spread, spread_blocks, spread_line
from harness.report.summary import groups, summary_section
from harness.results import RunResults

LENET = REPO / "tests/fixtures/lenet_spread/results.json"
"""The lenet jobs of the committed reports/lenet_vs_stride2 (see the fixture's README)."""


def committed() -> RunView:
    return RunView(load_results(LENET))


def accuracy(view: RunView, network: str) -> dict[str, dict[int, float]]:
    return {fw: group.accuracy for (net, fw), group in groups(view).items() if net == network}


def test_holm_adjusts_as_its_step_down_rule_says() -> None:
    # sorted 0.01, 0.02, 0.04 -> 3 x 0.01, max(0.03, 2 x 0.02), max(0.04, 1 x 0.04)
    assert holm([0.04, 0.01, 0.02]) == pytest.approx([0.04, 0.03, 0.04])
    assert holm([0.5, 0.9]) == [1.0, 1.0]


def test_the_committed_lenet_run_names_torch_below_the_others_with_its_initialisers() -> None:
    view = committed()
    seeds = accuracy(view, "lenet")
    found = spread("lenet", seeds)
    assert found is not None
    assert found.p_value == pytest.approx(float(scipy_stats.alexandergovern(*[list(s.values()) for s in seeds.values()]).pvalue))
    assert found.p_value < 0.05
    assert [s.framework for s in found.standouts] == ["torch"]
    torch = found.standouts[0]
    rest = [v for fw, s in seeds.items() if fw != "torch" for v in s.values()]
    welch = float(scipy_stats.ttest_ind(list(seeds["torch"].values()), rest, equal_var=False).pvalue)
    assert welch < torch.p_value <= len(seeds) * welch  # Holm-adjusted over the six frameworks
    assert torch.mean < torch.others_mean and max(seeds["torch"].values()) < min(rest)
    differing = differing_settings(view, "lenet", "torch", torch.others)
    assert set(differing) == {"kernel_initializer", "bias_initializer"}  # padding, activation: fixed by the spec
    assert differing["kernel_initializer"][0] == ["kaiming_uniform_(a=sqrt(5))"]
    line = spread_line(view, found)
    assert line.startswith("Frameworks differ on lenet by more than their seed intervals")
    assert "torch (0.7862 ± 0.0074) is 3.4 points below" in line and "kaiming_uniform_(a=sqrt(5))" in line


def test_the_summary_carries_the_spread_and_how_it_was_tested() -> None:
    text = json.dumps(summary_section(committed()), default=repr)
    assert ("Frameworks differ on lenet by more than their seed intervals (p=0.0004): torch 3.4 points below the "
            "others, differing in bias_initializer, kernel_initializer.") in text
    assert "Alexander-Govern" in text and "Holm-adjusted" in text


def test_frameworks_that_agree_get_no_line(tmp_path: Path) -> None:
    from test_report_summary import three_seeds  # keras, paddle, torch within a few tenths of a point

    run = three_seeds()
    view = RunView(run)
    assert spread_blocks(view, {key: group.accuracy for key, group in groups(view).items()}) == ()
    write_report(write_run(run, tmp_path))
    assert "Frameworks differ" not in (tmp_path / "report.md").read_text(encoding="utf-8")


def test_one_seed_or_one_framework_is_not_tested() -> None:
    assert spread("n", {"a": {0: 0.5}, "b": {0: 0.9}}) is None
    assert spread("n", {"a": {0: 0.5, 1: 0.51, 2: 0.49}}) is None
    assert spread("n", {"a": {0: 0.5, 1: 0.5}, "b": {0: 0.5, 1: 0.5}}) is None


def test_two_frameworks_are_compared_with_each_other() -> None:
    found = spread("n", {"a": {0: 0.80, 1: 0.81, 2: 0.82}, "b": {0: 0.90, 1: 0.91, 2: 0.92}})
    assert found is not None and [(s.framework, s.others) for s in found.standouts] == [("a", ("b",))]
    assert found.standouts[0].others_mean == pytest.approx(0.91)


def test_shared_initialisers_leave_no_setting_to_blame() -> None:
    """With ``--init shared`` every initialiser is the harness's: the line says the settings do not explain it."""
    run = load_results(LENET)
    for job in run.jobs:
        for settings in job.effective_settings.values():
            for name, setting in list(settings.items()):
                if name.endswith("_initializer"):
                    settings[name] = initializer_setting("shared", setting.value, "")
    view = RunView(run)
    found = spread("lenet", accuracy(view, "lenet"))
    assert found is not None and differing_settings(view, "lenet", "torch", found.standouts[0].others) == {}
    assert "no recorded effective setting differs" in spread_line(view, found)


def test_the_synthetic_run_with_one_framework_far_below_names_its_default_initialiser() -> None:
    run: RunResults = sample_run(epochs=2, samples=30)
    jobs = []
    for seed in range(3):
        for job in run.jobs:
            copy = job.model_copy(deep=True, update={"seed": seed, "status": "ok", "reason": None})
            copy.history[-1].test_accuracy = (0.70 if job.framework == "torch" else 0.90) + 0.003 * seed
            jobs.append(copy)
    view = RunView(run.model_copy(update={"jobs": jobs}))
    lines = [spread_line(view, found) for network in view.networks
             if (found := spread(network, accuracy(view, network))) is not None]
    assert len(lines) == 2 and all("torch (0.7030 ± 0.0075) is 20.0 points below" in line for line in lines)
    assert all("kernel_init kaiming_uniform(a=sqrt(5)) (others: glorot_uniform, xavier_normal)" in line
               for line in lines)
    assert not any("padding" in line or "amsgrad" in line for line in lines)
