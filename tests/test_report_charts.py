"""Charts a reviewer can trust, on every committed report: no point outside its axes (accuracy below
chance included), x labels that do not overlap, seeds told apart, whole-epoch axes."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from harness.report import load_results
from harness.report.model import RunView
from harness.report.plots import comparison_chart, curves_chart
from harness.report.summary import chance, groups

REPORTS = sorted(path.parent for path in (Path(__file__).resolve().parents[1] / "reports").glob("*/results.json"))


@pytest.fixture(scope="module", params=REPORTS, ids=[path.name for path in REPORTS])
def view(request: pytest.FixtureRequest) -> RunView:
    return RunView(load_results(request.param))


def charts(view: RunView) -> list[tuple[str, Figure]]:
    found = [(f"curves of {network}", curves_chart(view, network)[0]) for network in view.networks if view.jobs_of(network)]
    return [*found, ("comparison", comparison_chart(view)[0])]


def points(axes: Axes) -> np.ndarray:
    """Every plotted (x, y) in data coordinates of ``axes``: line vertices and error-bar ends, finite
    ones only (a reference line such as chance spans the axes, so it is left out)."""
    found = [line.get_xydata() for line in axes.get_lines() if line.get_transform() is axes.transData and len(line.get_xydata())]
    found += [np.asarray(segment) for collection in axes.collections if isinstance(collection, LineCollection)
              for segment in collection.get_segments() if len(segment)]
    if not found:
        return np.empty((0, 2))
    stacked = np.concatenate([np.asarray(block, dtype=float).reshape(-1, 2) for block in found])
    return stacked[np.isfinite(stacked).all(axis=1)]


def outside(axes: Axes) -> list[tuple[float, float]]:
    (x0, x1), (y0, y1) = sorted(axes.get_xlim()), sorted(axes.get_ylim())
    return [(x, y) for x, y in points(axes) if not (x0 <= x <= x1 and y0 <= y <= y1)]


def test_no_point_of_any_chart_lies_outside_its_axes(view: RunView) -> None:
    for name, figure in charts(view):
        FigureCanvasAgg(figure).draw()
        for axes in figure.axes:
            assert outside(axes) == [], f"{name}, {axes.get_title()}: points outside {axes.get_xlim()} x {axes.get_ylim()}"


def test_the_accuracy_axis_reaches_below_chance_only_to_show_points_there(view: RunView) -> None:
    figure, caption = comparison_chart(view)
    accuracy_axes = figure.axes[0]
    floor = min(level for network in view.networks if (level := chance(view, network)) is not None)
    lowest = min(group.estimate.mean - (group.estimate.half_width or 0) for group in groups(view).values()
                 if group.estimate is not None)
    bottom = accuracy_axes.get_ylim()[0]
    if lowest < floor:
        assert bottom < lowest and "below chance" in caption
        assert any(tuple(line.get_ydata()) == (floor, floor) for line in accuracy_axes.get_lines()), "chance is marked"
    else:
        assert bottom == pytest.approx(floor)


def test_x_labels_do_not_overlap(view: RunView) -> None:
    figure = comparison_chart(view)[0]
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    renderer = canvas.get_renderer()
    for axes in figure.axes[:2]:
        labels = [label for label in axes.get_xticklabels() if label.get_text()]
        angle = labels[0].get_rotation()
        if angle == 0:
            boxes = [label.get_window_extent(renderer) for label in labels]
            assert all(first.x1 <= second.x0 for first, second in zip(boxes, boxes[1:]))
            continue
        # Turned labels are parallel: they clear each other when the ticks' spacing along the
        # labels' normal is more than one label's height.
        ticks = axes.transData.transform([(x, 0) for x in axes.get_xticks()])[:, 0]
        height = max(label.get_fontsize() for label in labels) * figure.dpi / 72
        assert np.diff(ticks).min() * math.sin(math.radians(angle)) >= height


def test_one_epoch_runs_get_whole_epoch_axes_and_seeds_get_their_own_markers(view: RunView) -> None:
    for network in view.networks:
        jobs = view.jobs_of(network)
        if not jobs:
            continue
        figure = curves_chart(view, network)[0]
        epochs = sorted({epoch.epoch for job in jobs for epoch in job.history})
        for axes in figure.axes:
            assert axes.get_xlim() == (epochs[0] - 0.5, epochs[-1] + 0.5)
            ticks = [t for t in axes.get_xticks() if epochs[0] - 0.5 <= t <= epochs[-1] + 0.5]
            assert ticks and all(float(t).is_integer() for t in ticks)
        if len(view.seeds) > 1:  # the lines of one framework (one colour): one marker per seed
            lines = figure.axes[0].get_lines()
            markers = {line.get_marker() for line in lines if line.get_color() == lines[0].get_color()}
            assert len(markers) == len(view.seeds), markers
