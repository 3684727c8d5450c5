"""The report's sections, in order: run, architecture, parameters, results, plots, settings, notes."""

from __future__ import annotations

from harness.report import format as fmt
from harness.report import model
from harness.report.document import Block, Bullets, Figure, Heading, Report, Section, Text
from harness.report.model import RunView
from harness.report.threads import thread_scaling_section
from harness.shapes import describe_shape

READING = (
    "Accuracy is a fraction with 4 decimals (one image of a 10,000-image test set is 0.0001).",
    "Times, throughput, memory, GFLOP/s and losses have 3 significant figures: repeated timings on a "
    "shared CPU scatter by a few per cent, so a fourth figure would be noise.",
    "Step time and inference latency are medians of the timed repetitions, with the 10th and 90th "
    "percentiles in brackets.",
    "Bold marks the best value of a row among the jobs that finished ok; rows without a better direction "
    "(status, epochs) are not marked.",
    f"{model.PASS} agrees with the oracle's count, {model.FAIL} disagrees (the difference in brackets); "
    f"{model.DEFAULT_FLAG} marks a setting left to the framework's own default.",
    "Regenerate this report from its results.json with `harness report results.json`; "
    "compare two runs with `harness compare OLD NEW`.",
)


def _run_section(view: RunView) -> Section:
    return Section("Run", "run", (model.header_table(view), Heading("Frameworks"), model.environment_table(view)))


def _architecture_section(view: RunView) -> Section:
    blocks: list[Block] = []
    for network in view.networks:
        analysis = view.run.networks.get(network)
        if analysis is None:
            blocks += [Heading(network), Text(f"The oracle's analysis of {network} is not in the results.")]
            continue
        params = analysis.get("params", {})
        by_size = analysis.get("macs_by_size") or {}
        macs = fmt.count(analysis.get("macs")) if analysis.get("macs") is not None or not by_size else (
            ", ".join(f"{fmt.count(value)} at {size}" for size, value in by_size.items()))
        blocks.append(Heading(
            f"{network}: input {describe_shape(tuple(analysis.get('input', ())))}, "
            f"{fmt.count(params.get('total'))} parameters, {macs} MACs per image"
        ))
        blocks.append(model.architecture_table(analysis.get("layers", [])))
    return Section("Architecture", "architecture", tuple(blocks))


def _parameters_section(view: RunView) -> Section:
    blocks: list[Block] = [
        Text("Parameters as the oracle counts them, as the spec's source published them (expect), and as each "
             "framework holds them after normalisation (batch-norm moving statistics non-trainable)."),
        model.params_table(view),
    ]
    disagreements = model.layer_disagreements(view)
    if disagreements is not None:
        blocks += [Heading("Layers that disagree with the oracle"), disagreements]
    parity = model.parity_table(view.run.parity)
    blocks += [Heading("Parity: the same weights and images through every framework")]
    blocks.append(parity if parity is not None else Text("No parity checks are recorded in this run."))
    first_steps = model.first_steps_table(view)
    if first_steps is not None:
        blocks += [Heading("First training steps"), Text(
            "Training loss of each framework's first step and first epoch on the same batches. From shared "
            "neutral weights (init shared) the first steps should agree to about 1e-4; with each framework's "
            "own initialisers (init framework) they need not."), first_steps]
    return Section("Parameter agreement", "parameters", tuple(blocks))


def _results_section(view: RunView) -> Section:
    if not view.jobs:
        return Section("Results", "results", (Text("No training jobs are recorded in this run."),))
    return Section("Results", "results", (model.results_table(view),))


def _plots_section(per_network: dict[str, Figure], compared: Figure) -> Section:
    return Section("Plots", "plots", (*per_network.values(), compared))


def _settings_section(view: RunView) -> Section:
    blocks: list[Block] = [Text(
        "Every hyperparameter as each framework resolved it, in its own convention; the spec column holds "
        f"the spec's neutral value, and {model.DEFAULT_FLAG} flags a value left to the framework's default."
    )]
    for network in view.networks:
        table = model.settings_table(view, network)
        blocks += [Heading(network), table if table is not None else Text("No settings recorded.")]
    return Section("Effective settings", "settings", tuple(blocks))


def _notes_section(view: RunView) -> Section:
    items = model.notes(view)
    return Section("Notes", "notes", (Bullets(tuple(items)),) if items else (Text("Nothing to report."),))


def _reading_section(view: RunView) -> Section:
    blocks: list[Block] = [Bullets(READING)]
    definitions = model.definitions(view)
    if definitions:
        blocks += [Heading("How each figure was measured"), Bullets(tuple(definitions))]
    return Section("Reading this report", "reading", tuple(blocks))


def build_report(view: RunView, per_network: dict[str, Figure], compared: Figure) -> Report:
    """The whole report for one run, given its charts."""
    title = f"{', '.join(view.networks)} in {', '.join(view.frameworks)}"
    return Report(
        title=title,
        warnings=tuple(model.shortened_warnings(view)),
        sections=(
            _run_section(view),
            _architecture_section(view),
            _parameters_section(view),
            _results_section(view),
            *filter(None, [thread_scaling_section(view)]),
            _plots_section(per_network, compared),
            _settings_section(view),
            _notes_section(view),
            _reading_section(view),
        ),
    )
