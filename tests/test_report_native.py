"""The report against each framework's native loop: the committed measurements quoted per framework,
and a Summary line when a framework is far slower than the others."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_support import sample_run

from harness.report import native
from harness.report.document import Details
from harness.report.model import RunView
from harness.report.native import Anchor, native_lines, read_anchors, write_anchors
from harness.report.summary import groups, summary_blocks


def anchor(framework: str, ratio: float, network: str = "lenet", mode: str = "eager") -> Anchor:
    return Anchor(network=network, framework=framework, mode=mode, native=f"plain {framework} loop", harness_ms=10.0 * ratio,
                  native_ms=10.0, ratio=ratio, rounds=[ratio], load=[1.0, 1.2], measured="2026-12-06, 3200 images, 1 thread(s)")


def anchors(*items: Anchor) -> dict[tuple[str, str, str], Anchor]:
    return {item.key: item for item in items}


def native_findings(view: RunView, anchors: dict[tuple[str, str, str], Anchor]) -> list[str]:
    """Every line :func:`native_lines` gives, network by network: the ratios first, then the far-slower lines."""
    ratios, slower = native_lines(view, anchors)
    return [line for network in view.networks for line in ratios.get(network, []) + slower.get(network, [])]


def test_each_covered_framework_is_quoted_against_its_native_loop() -> None:
    view = RunView(sample_run(epochs=2, samples=30))  # lenet: keras 6.1 ms, paddle 15.8 ms, torch diverged
    lines = native_findings(view, anchors(anchor("keras", 1.01), anchor("torch", 0.98)))
    assert lines[0] == ("lenet: step time against each framework's own native loop (harness / native, committed "
                        "measurement 2026-12-06, 3200 images, 1 thread(s), 1-minute load 1.0-1.2): keras 1.01, torch 0.98.")
    assert len(lines) == 1, "paddle is far slower, but no measurement covers it: nothing is said about it"


@pytest.mark.parametrize(("ratio", "verdict"), [
    (1.02, "its own plain loop (plain paddle loop) is as slow (harness / native 1.02): not the harness"),
    (1.40, "the harness is 1.40x its own plain loop (plain paddle loop; rounds 1.40-1.40), so without it the step "
           "would still be {rest:.1f}x: mostly the framework"),
    (2.40, "the harness is 2.40x its own plain loop (plain paddle loop; rounds 2.40-2.40): part of it is the harness"),
])
def test_a_far_slower_framework_is_judged_by_its_own_loop(ratio: float, verdict: str) -> None:
    view = RunView(sample_run(epochs=2, samples=30))
    found = groups(view)
    lines = native_findings(view, anchors(anchor("paddle", ratio)))
    factor = found[("lenet", "paddle")].step.median / found[("lenet", "keras")].step.median  # torch diverged: no step
    assert factor >= native.FAR_SLOWER
    assert lines[1] == f"lenet: paddle's step is {factor:.1f}x keras'; {verdict.format(rest=factor / ratio)}."
    assert not any("lenet_stride2" in line for line in lines), "no measurement covers lenet_stride2"


def test_no_measurement_says_nothing() -> None:
    view = RunView(sample_run(epochs=2, samples=30))
    assert native_findings(view, {}) == []
    assert native_findings(view, anchors(anchor("torch", 1.0, mode="compiled"))) == []


def test_the_summary_quotes_the_committed_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(native, "ANCHORS", tmp_path / "anchors.json")
    write_anchors([anchor("paddle", 1.01)])
    blocks = summary_blocks(RunView(sample_run(epochs=2, samples=30)))
    text = str(blocks[0])
    assert "paddle's step is" in text and "not the harness" in text
    assert "own native loop (harness / native, committed" not in text, "the ratios are folded, not in the open bullets"
    [folded] = [block for block in blocks if isinstance(block, Details) and "native loop" in block.summary]
    assert "paddle 1.01." in str(folded)


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
    lines = native_findings(view, anchors(anchor("keras", 1.0), anchor("keras", 1.1, mode="compiled"), anchor("paddle", 1.0)))
    assert "keras 1.00, keras:compiled 1.10, paddle 1.00." in lines[0]
    eager = groups(RunView(sample_run(epochs=2, samples=30)))
    factor = eager[("lenet", "paddle")].step.median / eager[("lenet", "keras")].step.median
    assert lines[1].startswith(f"lenet: paddle's step is {factor:.1f}x keras';"), "the compiled keras job is not the yardstick"


def test_the_committed_measurements_cover_every_framework_of_lenet() -> None:
    """The file the report quotes, as `benchmarks/native_overhead.py --record` wrote it."""
    committed = read_anchors()
    eager = {framework for (network, framework, mode) in committed if network == "lenet" and mode == "eager"}
    compiled = {framework for (network, framework, mode) in committed if network == "lenet" and mode == "compiled"}
    assert eager == {"jax", "keras", "keras-jax", "keras-torch", "paddle", "torch"}
    assert compiled == {"keras", "paddle", "torch"}
