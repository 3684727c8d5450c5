"""The report's charts as deterministic SVG files (matplotlib, no pyplot state).

Honest scales: accuracy runs from chance (a dotted line) to 1 with 95% confidence intervals over the
seeds as error bars, so the size of a gap can be judged against the whole range and against the
noise, and down past chance when a point (or its interval) lies below it, so no point is hidden;
step times are on a logarithmic axis, so fast and slow frameworks both stay readable; every
logarithmic axis says so in its label. Epoch axes run over whole epochs (half an epoch of margin),
never 0.96-1.04 for a one-epoch run. The seeds of one framework share its colour and differ in
their marker; x labels turn as far as they must not to overlap.

Determinism: the SVG hash salt is fixed per chart (so element ids do not change between runs),
the date is left out of the metadata, text is drawn as paths in the DejaVu Sans font that ships
with matplotlib, and every size is fixed. The same results therefore give byte-identical files.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import matplotlib
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import LogLocator, MaxNLocator, StrMethodFormatter

from harness.outdir import confined, safe_file_name
from harness.report.document import Figure as ReportFigure
from harness.report.document import Section
from harness.report.model import RunView, labels
from harness.report.summary import Group, chance, groups
from harness.results import JobResult

STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 9.0,
    "axes.titlesize": 10.0,
    "axes.labelsize": 9.0,
    "legend.fontsize": 8.5,
    "xtick.labelsize": 8.5,
    "ytick.labelsize": 8.5,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.fonttype": "path",
    "path.simplify": True,
    "figure.dpi": 72.0,
}
PALETTE = matplotlib.colormaps["tab10"].colors
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
"""One marker per seed (in the order of the run's seeds), so one framework's seeds can be told apart."""
SIZE = (10.0, 3.8)
ROTATIONS = (0, 30, 45, 60, 90)
"""x label angles, the first at which no two labels overlap is used."""
GAP = 1.3
"""Turned labels keep this many label heights between their baselines."""
MARGIN = 0.03
"""Room below the lowest accuracy shown under chance, as a share of the axis."""


@contextmanager
def _style(salt: str) -> Iterator[None]:
    with matplotlib.rc_context({**STYLE, "svg.hashsalt": f"harness-report-{salt}"}):
        yield


def _save(figure: Figure, path: Path, title: str) -> str:
    """Write ``figure`` as SVG without a date and return the file's text."""
    figure.savefig(path, format="svg", metadata={"Date": None, "Title": title})
    return path.read_text(encoding="utf-8")


def _finite(values: list[float | None]) -> list[float]:
    return [v if v is not None and math.isfinite(v) else math.nan for v in values]


def _legend_label(job: JobResult, view: RunView) -> str:
    label = job.framework + (f" seed {job.seed}" if len(view.seeds) > 1 else "")
    return label if job.status == "ok" else f"{label} ({job.status})"


def curves(view: RunView, network: str, path: Path) -> ReportFigure:
    """The curves chart (:func:`curves_chart`) of ``network`` written to ``path``."""
    with _style(path.stem):
        figure, title = curves_chart(view, network)
        return ReportFigure(path.name, title, _save(figure, path, title))


def _marker(job: JobResult, view: RunView) -> str:
    return MARKERS[view.seeds.index(job.seed) % len(MARKERS)] if len(view.seeds) > 1 else "."


def curves_chart(view: RunView, network: str) -> tuple[Figure, str]:
    """Train (solid) and test (dashed) loss and accuracy per epoch, every framework on one chart (its
    colour), every seed its own marker; with its title."""
    title = f"{network}: loss and accuracy per epoch"
    figure = Figure(figsize=SIZE, layout="constrained")
    loss_axes, accuracy_axes = figure.subplots(1, 2)
    handles = []
    epochs_seen: list[int] = []
    for job in view.jobs_of(network):
        color = PALETTE[view.frameworks.index(job.framework) % len(PALETTE)]
        marker = _marker(job, view)
        epochs = [e.epoch for e in job.history]
        epochs_seen += epochs
        for axes, train, test in ((loss_axes, "train_loss", "test_loss"),
                                  (accuracy_axes, "train_accuracy", "test_accuracy")):
            axes.plot(epochs, _finite([getattr(e, train) for e in job.history]), color=color, marker=marker)
            axes.plot(epochs, _finite([getattr(e, test) for e in job.history]), color=color, marker=marker,
                      linestyle="--")
        handles.append(Line2D([], [], color=color, marker=marker, label=_legend_label(job, view)))
    handles += [Line2D([], [], color="0.3", label="train"), Line2D([], [], color="0.3", linestyle="--", label="test")]
    loss_axes.set(title="loss", xlabel="epoch", ylabel="loss (log scale)", yscale="log")
    accuracy_axes.set(title="accuracy", xlabel="epoch")
    for formatter in (loss_axes.yaxis.set_major_formatter, loss_axes.yaxis.set_minor_formatter):
        formatter(StrMethodFormatter("{x:g}"))
    for axes in (loss_axes, accuracy_axes):
        axes.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        if epochs_seen:
            axes.set_xlim(min(epochs_seen) - 0.5, max(epochs_seen) + 0.5)
    figure.legend(handles=handles, loc="outside right center", frameon=False)
    figure.suptitle(network)
    return figure, title


def comparison(view: RunView, path: Path) -> ReportFigure:
    """The comparison chart (:func:`comparison_chart`) written to ``path``."""
    with _style(path.stem):
        figure, title = comparison_chart(view)
        return ReportFigure(path.name, title, _save(figure, path, title))


def comparison_chart(view: RunView) -> tuple[Figure, str]:
    """Final test accuracy (mean, 95% CI over seeds) from chance to 1, and step time (median, p10-p90)
    on a log axis, per network and framework; with its caption."""
    found = groups(view)
    levels = [level for network in view.networks if (level := chance(view, network)) is not None]
    floor = min(levels, default=0.0)
    seeds = sorted({group.estimate.n for group in found.values() if group.estimate is not None})
    n_text = "n=" + "/".join(str(n) for n in seeds) if seeds else "no accuracy"
    lowest = min((group.estimate.mean - (group.estimate.half_width or 0.0) for group in found.values()
                  if group.estimate is not None), default=floor)
    below = lowest < floor
    bottom = lowest - MARGIN * (1.0 - lowest) if below else floor
    highest = max((group.estimate.mean + (group.estimate.half_width or 0.0) for group in found.values()
                   if group.estimate is not None), default=1.0)
    reach = (f", extended down to {bottom:.2g} to show the points below chance (dotted line)" if below else "")
    title = (f"Final test accuracy, mean with 95% CI over seeds ({n_text}; no bars with one seed), on an axis from "
             f"chance ({floor:g}) to 1{reach} so a gap can be judged against the whole range; training step time, "
             "median with p10–p90, on a log scale")
    figure = Figure(figsize=SIZE, layout="constrained")
    accuracy_axes, time_axes = figure.subplots(1, 2)
    width = 0.8 / max(1, len(view.frameworks))
    untimed = {network for network in view.networks
               if all(group.step is None for (name, _), group in found.items() if name == network)}
    for (network, framework), group in found.items():
        index = view.frameworks.index(framework)
        color = PALETTE[index % len(PALETTE)]
        x = view.networks.index(network) + (index - (len(view.frameworks) - 1) / 2) * width
        _accuracy_point(accuracy_axes, group, x, color)
        if group.step is not None:
            step = group.step
            time_axes.errorbar([x], [step.median], yerr=[[step.median - step.low], [step.high - step.median]],
                               capsize=3, linestyle="none", color=color, marker="o", markersize=6)
        elif network not in untimed:
            _no_data(time_axes, x, group.statuses or "no time", color)
    for network in sorted(untimed):  # one note, not one per framework squeezed side by side
        _no_data(time_axes, view.networks.index(network), "no time in any framework", "0.3")
    short = labels(view)
    for axes in (accuracy_axes, time_axes):
        axes.set_xticks(range(len(view.networks)), [short[network] for network in view.networks])
        axes.set_xlim(-0.6, len(view.networks) - 0.4)
    if levels:
        accuracy_axes.axhline(floor, color="0.4", linestyle=":", linewidth=1)
    accuracy_axes.set(title=f"final test accuracy ({n_text})",
                      ylabel="accuracy (chance to 1" + (", and below" if below else "") + ")",
                      ylim=(bottom, max(1.0, highest)))
    time_axes.set(title="step time, median and p10–p90", ylabel="ms (log scale)")
    if any(group.step is not None for group in found.values()):
        time_axes.set_yscale("log")
        time_axes.yaxis.set_major_formatter(StrMethodFormatter("{x:g}"))
        time_axes.yaxis.set_minor_locator(LogLocator(subs=(2.0, 5.0)))
        time_axes.yaxis.set_minor_formatter(StrMethodFormatter("{x:g}"))
    handles = [Line2D([], [], color=PALETTE[i % len(PALETTE)], marker="o", linestyle="none", label=name)
               for i, name in enumerate(view.frameworks)]
    figure.legend(handles=handles, loc="outside right center", frameon=False)
    if any(short[network] != network for network in view.networks):
        figure.suptitle(f"variants of {view.networks[0].split(':', 1)[0]}")
    _turn_labels_apart(figure, (accuracy_axes, time_axes))
    return figure, title


def _turn_labels_apart(figure: Figure, axes_list: tuple[Axes, ...]) -> None:
    """Turn the x labels by the first angle of :data:`ROTATIONS` at which no two neighbours overlap:
    level labels must be narrower than the ticks' spacing; labels turned by an angle are parallel, so
    they clear each other when the spacing times the angle's sine exceeds a label's height."""
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    renderer = canvas.get_renderer()
    need = 0.0
    for axes in axes_list:
        boxes = [label.get_window_extent(renderer) for label in axes.get_xticklabels() if label.get_text()]
        if len(boxes) < 2:
            continue
        spacing = min(abs(second.x0 + second.x1 - first.x0 - first.x1) / 2 for first, second in zip(boxes, boxes[1:]))
        if any(first.x1 > second.x0 for first, second in zip(boxes, boxes[1:])):
            need = max(need, GAP * max(box.height for box in boxes) / max(spacing, 1e-9))
    if not need:
        return
    angle = next((angle for angle in ROTATIONS if angle and math.sin(math.radians(angle)) >= need), ROTATIONS[-1])
    for axes in axes_list:
        for label in axes.get_xticklabels():
            label.set(rotation=angle, ha="right", rotation_mode="anchor")


def _accuracy_point(axes: Axes, group: Group, x: float, color: tuple[float, ...]) -> None:
    """The mean accuracy of ``group`` with its confidence interval, or its status when none finished."""
    if group.estimate is None:
        _no_data(axes, x, group.statuses or "no accuracy", color)
        return
    error = None if group.estimate.half_width is None else [[group.estimate.half_width], [group.estimate.half_width]]
    axes.errorbar([x], [group.estimate.mean], yerr=error, capsize=3, linestyle="none", color=color, marker="o",
                  markersize=6)


def _no_data(axes: Axes, x: float, status: str, color: tuple[float, ...] | str) -> None:
    """Write the status where a job has no value to plot."""
    axes.annotate(status, (x, 0.02), xycoords=("data", "axes fraction"), rotation=90, ha="center", va="bottom",
                  color=color, fontsize=8)


def curve_file(network: str) -> str:
    """The file name of a network's curves: one plain name in the report folder, whatever the key holds."""
    return safe_file_name(f"curves-{network.replace(':', '-')}", ".svg")


def write_plots(view: RunView, directory: Path) -> tuple[dict[str, ReportFigure], ReportFigure]:
    """The curves of every network (by network) and the comparison chart, written to ``directory``."""
    per_network = {network: curves(view, network, confined(directory, curve_file(network)))
                   for network in view.networks if view.jobs_of(network)}
    return per_network, comparison(view, directory / "comparison.svg")


def plots_section(per_network: dict[str, ReportFigure], compared: ReportFigure) -> Section:
    """The comparison chart, then each network's training curves."""
    return Section("Plots", "plots", (compared, *per_network.values()))
