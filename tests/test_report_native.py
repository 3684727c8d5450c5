"""The report against each framework's native loop: the committed measurements in a table per network,
each with the verdict on the harness's promise (at most 1.03), and a Summary line when a framework is
far slower than the others."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from report_support import sample_run
from scipy import stats

from harness.report import native
from harness.report.document import Details, Table
from harness.report.model import RunView
from harness.report.native import Anchor, native_lines, overhead_verdict, read_anchors, write_anchors
from harness.report.summary import groups, summary_blocks


def anchor(framework: str, ratio: float, network: str = "lenet", mode: str = "eager",
           rounds: list[float] | None = None, measured: str = "2026-12-06, 3200 images, 1 thread(s)") -> Anchor:
    return Anchor(network=network, framework=framework, mode=mode, native=f"plain {framework} loop", harness_ms=10.0 * ratio,
                  native_ms=10.0, ratio=ratio, rounds=rounds or [ratio], load=[1.0, 1.2], measured=measured)


def anchors(*items: Anchor) -> dict[tuple[str, str, str], Anchor]:
    return {item.key: item for item in items}


def test_each_covered_framework_is_a_row_with_its_verdict() -> None:
    view = RunView(sample_run(epochs=2, samples=30))  # lenet: keras 6.1 ms, paddle 15.8 ms, torch diverged
    covered = native.covered_anchors(view, anchors(anchor("keras", 1.01, rounds=[0.99, 1.0, 1.01, 1.0, 0.99]),
                                                   anchor("torch", 0.98), anchor("keras", 1.0, network="other")))
    assert list(covered) == ["lenet"], "a network the run does not have is not quoted"
    table = native.overhead_table("lenet", covered["lenet"])
    assert table.frame.values.tolist() == [
        ["keras", "eager", "plain keras loop", "10.10", "10.00", "1.01", "holds", "1.00 [0.99, 1.01]", "5"],
        ["torch", "eager", "plain torch loop", "9.80", "10.00", "0.98", "undecided", "0.98", "1"],
    ]
    assert table.frame.columns[6] == "at most 1.03"
    assert table.marks is not None and table.marks.iloc[:, 6].tolist() == ["pass", "warn"]
    text = native.overhead_text("lenet", covered["lenet"])
    assert "committed measurement 2026-12-06, 3200 images, 1 thread(s); 1-minute load 1.0-1.2" in text
    assert "95% Student-t interval of the rounds' geometric mean" in text


def test_rows_measured_on_several_days_name_each_setting_once_with_its_dates() -> None:
    rows = [anchor("keras", 1.0), anchor("torch", 1.0, measured="2026-12-07, 3200 images, 1 thread(s)"),
            anchor("jax", 1.0, measured="2026-12-07, 3200 images, 1 thread(s)"),
            anchor("paddle", 1.0, measured="2026-12-08, 640 images, 2 thread(s)")]
    assert ("(committed measurements 2026-12-06 and 2026-12-07, 3200 images, 1 thread(s); 2026-12-08, 640 images, "
            "2 thread(s); 1-minute load 1.0-1.2)") in native.overhead_text("lenet", rows)


@pytest.mark.parametrize(("ratio", "verdict"), [
    (1.02, "its own plain loop (plain paddle loop) is as slow (harness / native 1.02): not the harness"),
    (1.40, "the harness is 1.40x its own plain loop (plain paddle loop; rounds 1.40-1.40), so without it the step "
           "would still be {rest:.1f}x: mostly the framework"),
    (2.40, "the harness is 2.40x its own plain loop (plain paddle loop; rounds 2.40-2.40): part of it is the harness"),
])
def test_a_far_slower_framework_is_judged_by_its_own_loop(ratio: float, verdict: str) -> None:
    view = RunView(sample_run(epochs=2, samples=30))
    found = groups(view)
    lines = native_lines(view, anchors(anchor("paddle", ratio)))
    factor = found[("lenet", "paddle")].step.median / found[("lenet", "keras")].step.median  # torch diverged: no step
    assert factor >= native.FAR_SLOWER
    assert lines == [f"lenet: paddle's step is {factor:.1f}x keras'; {verdict.format(rest=factor / ratio)}."]


def test_no_measurement_says_nothing() -> None:
    view = RunView(sample_run(epochs=2, samples=30))
    assert native_lines(view, {}) == [] and native.covered_anchors(view, {}) == {}
    assert native.covered_anchors(view, anchors(anchor("torch", 1.0, mode="compiled"))) == {}, "the run has no compiled jobs"


def test_the_summary_quotes_the_committed_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(native, "ANCHORS", tmp_path / "anchors.json")
    write_anchors([anchor("paddle", 1.01)])
    blocks = summary_blocks(RunView(sample_run(epochs=2, samples=30)))
    text = str(blocks[0])
    assert "paddle's step is" in text and "not the harness" in text
    assert "own plain training loop" not in text, "the table is folded, not in the open bullets"
    [folded] = [block for block in blocks if isinstance(block, Details) and "native loop" in block.summary]
    [table] = [block for block in folded.blocks if isinstance(block, Table)]
    assert table.frame.iloc[0, :3].tolist() == ["paddle", "eager", "plain paddle loop"]


def test_recording_replaces_the_same_measurement_and_keeps_the_others(tmp_path: Path) -> None:
    path = tmp_path / "anchors.json"
    write_anchors([anchor("torch", 1.2), anchor("jax", 1.0)], path)
    write_anchors([anchor("torch", 0.99), anchor("torch", 1.1, mode="compiled")], path)
    stored = read_anchors(path)
    assert {key: item.ratio for key, item in stored.items()} == {
        ("lenet", "jax", "eager"): 1.0, ("lenet", "torch", "eager"): 0.99, ("lenet", "torch", "compiled"): 1.1}
    assert read_anchors(tmp_path / "absent.json") == {}
    (tmp_path / "broken.json").write_text("{")
    assert read_anchors(tmp_path / "broken.json") == {}


def test_compiled_jobs_are_quoted_in_their_mode_and_left_out_of_the_comparison() -> None:
    run = sample_run(epochs=2, samples=30)
    keras = next(job for job in run.jobs if job.network == "lenet" and job.framework == "keras")
    fast = keras.step_time.model_copy(update={"median_ms": 0.01})
    run.jobs.append(keras.model_copy(update={"mode": "compiled", "step_time": fast}))
    view = RunView(run)
    found = anchors(anchor("keras", 1.0), anchor("keras", 1.1, mode="compiled"), anchor("paddle", 1.0))
    rows = native.overhead_table("lenet", native.covered_anchors(view, found)["lenet"]).frame
    assert rows[["framework", "mode", "ratio (median)"]].values.tolist() == [
        ["keras", "eager", "1.00"], ["keras", "compiled", "1.10"], ["paddle", "eager", "1.00"]]
    eager = groups(RunView(sample_run(epochs=2, samples=30)))
    factor = eager[("lenet", "paddle")].step.median / eager[("lenet", "keras")].step.median
    assert native_lines(view, found)[0].startswith(f"lenet: paddle's step is {factor:.1f}x keras';"), \
        "the compiled keras job is not the yardstick"


def test_the_committed_measurements_cover_every_framework_of_lenet() -> None:
    """The file the report quotes, as `benchmarks/native_overhead.py --record` wrote it."""
    committed = read_anchors()
    eager = {framework for (network, framework, mode) in committed if network == "lenet" and mode == "eager"}
    compiled = {framework for (network, framework, mode) in committed if network == "lenet" and mode == "compiled"}
    assert eager == {"jax", "keras", "keras-jax", "keras-torch", "paddle", "torch"}
    assert compiled == {"keras", "paddle", "torch"}


def test_the_promise_is_judged_by_the_interval_of_the_geometric_mean() -> None:
    rounds = [0.97, 1.01, 0.99, 1.00, 0.98, 1.02, 0.99, 1.00]
    found = overhead_verdict(rounds)
    logs = np.log(rounds)
    low, high = stats.t.interval(0.95, len(logs) - 1, loc=logs.mean(), scale=stats.sem(logs))
    assert (found.verdict, found.n, found.needs) == ("holds", 8, None)
    assert found.ratio == pytest.approx(np.exp(logs.mean()))
    assert (found.low, found.high) == (pytest.approx(np.exp(low)), pytest.approx(np.exp(high)))
    assert str(found) == f"holds: geometric mean 0.99 [{np.exp(low):.2f}, {np.exp(high):.2f}], 8 rounds"
    assert overhead_verdict([1.12, 1.15, 1.10, 1.14, 1.13]).verdict == "contradicted"
    assert overhead_verdict(rounds, limit=0.98).verdict == "contradicted", "the limit is the caller's"


def test_an_undecided_promise_says_how_many_rounds_would_decide_it() -> None:
    found = overhead_verdict([1.09, 0.95, 1.15])
    assert found.verdict == "undecided" and found.needs is not None and found.needs > 3
    assert str(found).startswith(f"undecided (needs {found.needs} rounds): geometric mean ")
    one = overhead_verdict([1.2])
    assert (one.verdict, one.low, one.needs, str(one)) == ("undecided", None, None, "undecided: geometric mean 1.20, 1 round")
    assert overhead_verdict([]).n == 0


def test_the_rounds_it_asks_for_decide_most_of_the_time() -> None:
    """Drawn at the spread and mean it saw, the number of rounds it names decides the promise in
    about 80% of runs (the power it plans for), and almost never the wrong way."""
    rng = np.random.default_rng(0)
    mean, sd = np.log(1.0), 0.06
    needs = overhead_verdict(list(np.exp(mean + sd * np.array([-1.0, 0.0, 1.0])))).needs
    assert needs is not None
    verdicts = [overhead_verdict(list(np.exp(rng.normal(mean, sd, needs)))).verdict for _ in range(400)]
    assert 0.7 <= verdicts.count("holds") / len(verdicts) <= 0.92
    assert verdicts.count("contradicted") <= 4
