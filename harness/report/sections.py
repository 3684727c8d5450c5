"""The report's sections, in order: the Summary first, then plots, agreement, per-job results,
architecture, settings, run, notes and how to read it. Wide and detailed tables are folded."""

from __future__ import annotations

from harness.report import format as fmt
from harness.report import model
from harness.report.compiled import COMPILED_TEXT, compile_options, compiled_table
from harness.report.document import Block, Bullets, Details, Figure, Heading, Report, Section, Text
from harness.report.findings import findings_blocks
from harness.report.model import RunView, labels
from harness.report.summary import summary_blocks
from harness.report.threads import thread_scaling_section
from harness.shapes import describe_shape

READING = (
    "Accuracy is a fraction with 4 decimals (one image of a 10,000-image test set is 0.0001); accuracy "
    "differences are in percentage points.",
    "Times, throughput, memory, GFLOP/s and losses have 3 significant figures: repeated timings on a "
    "shared CPU scatter by a few per cent, so a fourth figure would be noise.",
    "Step time and inference latency are medians of the timed repetitions, with the 10th and 90th "
    "percentiles in brackets. Images/s in the Summary is the batch size over the median step time; in the "
    "per-job table it is the images of the timed steps over their summed time (the mean step).",
    "Bold marks only a difference beyond the noise: in the Summary an accuracy difference whose t-test over "
    "the seeds gives p < 0.05; in the per-job table a timing whose p10–p90 range is clear of every other "
    "job's. One seed's accuracy is never bold.",
    f"{model.PASS} agrees with the oracle's count, {model.FAIL} disagrees (the difference in brackets); "
    f"{model.DEFAULT_FLAG} marks a setting left to the framework's own default.",
    "Regenerate this report from its results.json with `harness report results.json`; "
    "compare two runs with `harness compare OLD NEW`.",
)
TITLE_NETWORKS = 3
"""A title names at most this many networks; more are counted."""


def title(view: RunView) -> str:
    """What the report compares, short enough for one line."""
    frameworks = ", ".join(view.frameworks) or "no framework"
    if not view.networks:
        return f"Empty run in {frameworks}"
    names = labels(view)
    if len(view.networks) == 1:
        return f"{view.networks[0]} in {frameworks}"
    spec = view.networks[0].split(":", 1)[0]
    if len(view.networks) > TITLE_NETWORKS:
        return f"{spec}: {len(view.networks)} variants in {frameworks}"
    shown = [names[network] for network in view.networks]
    against = f"{shown[1]} vs {shown[0]}" if len(shown) == 2 else f"{', '.join(shown[:-1])} and {shown[-1]}"
    prefix = f"{spec}: " if shown[0] != view.networks[0] else ""
    return f"{prefix}{against} in {frameworks}"


def _summary_section(view: RunView) -> Section:
    return Section("Summary", "summary", (*findings_blocks(view), *summary_blocks(view)))


def _run_section(view: RunView) -> Section:
    return Section("Run", "run", (
        Details("Run: specs, command, data, seeds, device, versions, machine, date", (model.header_table(view),)),
        Details("Frameworks: versions, thread pools and determinism settings", (model.environment_table(view),)),
    ))


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
        blocks.append(Details(
            f"{network}: input {describe_shape(tuple(analysis.get('input', ())))}, "
            f"{fmt.count(params.get('total'))} parameters, {macs} MACs per image",
            (model.architecture_table(analysis.get("layers", [])),),
        ))
    return Section("Architecture", "architecture", tuple(blocks))


def _parity_verdict(view: RunView) -> Text:
    entries = view.run.parity
    if not entries:
        return Text("No parity checks are recorded in this run.")
    failed = [entry for entry in entries if entry.get("passed") is False]
    text = f"{len(entries) - len(failed)} of {len(entries)} pairs agree within their tolerance"
    if failed:
        text += "; disagreeing: " + "; ".join(
            f"{e.get('network')} {e.get('a')} vs {e.get('b')}" + (f" (first at {e['first_divergent_layer']})"
                                                                   if e.get("first_divergent_layer") else "")
            for e in failed)
    return Text(text + ".")


def _parameters_section(view: RunView) -> Section:
    blocks: list[Block] = [
        Text("Parameters as the oracle counts them, as the spec's source published them (expect), and as each "
             "framework holds them after normalisation (batch-norm moving statistics non-trainable)."),
        model.params_table(view),
    ]
    disagreements = model.layer_disagreements(view)
    if disagreements is not None:
        blocks += [Heading("Layers that disagree with the oracle"), disagreements]
    blocks += [Heading("Parity: the same weights and images through every framework"), _parity_verdict(view)]
    parity = model.parity_table(view.run.parity)
    if parity is not None:
        blocks.append(Details("Parity checks, pair by pair", (parity,)))
    first_steps = model.first_steps_table(view)
    if first_steps is not None:
        blocks.append(Details("First training steps: each framework's loss on the same batches", (Text(
            "Training loss of each framework's first step and first epoch on the same batches. From shared "
            "neutral weights (init shared) the first steps should agree to about 1e-4; with each framework's "
            "own initialisers (init framework) they need not."), first_steps)))
    training = model.parity_table(view.run.train_parity, id="train-parity")
    if training is not None:
        blocks += [Heading("Training parity"), Text(
            "The first training steps from the same neutral weights on the same seeded batches, dropout off, in every "
            "framework and the numpy reference (harness parity --train-steps): largest loss difference over the "
            "steps, largest tensor difference after the last step relative to how far training moved it, and the "
            "first step and layer that diverge."), Details("Training parity, pair by pair", (training,))]
    return Section("Parameter agreement", "parameters", tuple(blocks))


def _results_section(view: RunView) -> Section:
    if not view.jobs:
        return Section("Results", "results", (Text("No training jobs are recorded in this run."),))
    every = Details("Every measurement, job by job", (model.results_table(view),))
    compiled = compiled_table(view)
    if compiled is None:
        return Section("Results", "results", (every,))
    return Section("Results", "results", (every, Heading("Eager and compiled"), Text(COMPILED_TEXT),
                                          compiled, Bullets(tuple(compile_options(view)))))


def _plots_section(per_network: dict[str, Figure], compared: Figure) -> Section:
    return Section("Plots", "plots", (compared, *per_network.values()))


def _settings_section(view: RunView) -> Section:
    blocks: list[Block] = [Text(
        "Every hyperparameter as each framework resolved it, in its own convention; the spec column holds "
        f"the spec's neutral value, and {model.DEFAULT_FLAG} flags a value left to the framework's default. "
        "Shown: the settings where the frameworks differ or one used its own default; the settings every "
        "framework resolved alike are folded below each."
    )]
    for network in view.networks:
        differing = model.settings_table(view, network, "differing")
        alike = model.settings_table(view, network, "alike")
        if differing is None and alike is None:
            blocks += [Heading(network), Text("No settings recorded.")]
            continue
        blocks += [Heading(network), differing if differing is not None else Text(
            "Every framework resolved every setting alike, none by its own default.")]
        if alike is not None:
            blocks.append(Details(f"{network}: {len(alike.frame)} settings every framework resolved alike", (alike,)))
    return Section("Effective settings", "settings", tuple(blocks))


def _notes_section(view: RunView) -> Section:
    items = model.notes(view)
    return Section("Notes", "notes", (Bullets(tuple(items)),) if items else (Text("Nothing to report."),))


def _reading_section(view: RunView) -> Section:
    blocks: list[Block] = [Bullets(READING)]
    definitions = model.definitions(view)
    if definitions:
        blocks.append(Details("How each figure was measured", (Bullets(tuple(definitions)),)))
    return Section("Reading this report", "reading", tuple(blocks))


def build_report(view: RunView, per_network: dict[str, Figure], compared: Figure) -> Report:
    """The whole report for one run, given its charts."""
    return Report(
        title=title(view),
        banners=tuple(model.banners(view)),
        sections=(
            _summary_section(view),
            _plots_section(per_network, compared),
            _parameters_section(view),
            _results_section(view),
            *filter(None, [thread_scaling_section(view)]),
            _architecture_section(view),
            _settings_section(view),
            _run_section(view),
            _notes_section(view),
            _reading_section(view),
        ),
    )
