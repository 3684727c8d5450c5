"""The report's "Architecture" section: the oracle's layer table of every network."""

from __future__ import annotations

import math
from collections import Counter

import pandas as pd

from harness.report import format as fmt
from harness.report.document import Block, Bullets, Details, Heading, Section, Split, Table, Text
from harness.report.model import RunView, texts
from harness.results import LayerRow
from harness.neutral.shapes import describe_shape


def architecture_table(layers: list[LayerRow]) -> Table:
    """The oracle's layer table: output shape, parameters and MACs per layer, with totals."""
    rows, keys = [], []
    for layer in layers:
        indent = "↳ " * layer.depth
        rows.append([indent + layer.name, layer.type, describe_shape(tuple(layer.output_shape)),
                     fmt.count(layer.trainable), fmt.count(layer.non_trainable), fmt.count(layer.macs)])
        keys.append([math.nan, math.nan, math.nan, layer.trainable, layer.non_trainable,
                     math.nan if layer.macs is None else layer.macs])
    macs = [layer.macs for layer in layers]
    footer = ("total", "", "",
              fmt.count(sum(layer.trainable for layer in layers)),
              fmt.count(sum(layer.non_trainable for layer in layers)),
              fmt.count(None if None in macs else sum(macs)))
    columns = ["layer", "type", "output", "trainable", "non-trainable", "MACs"]
    return Table(texts(rows, columns), ("left", "left", "left", "right", "right", "right"),
                 sort_keys=pd.DataFrame(keys, columns=columns, dtype=float), footer=footer)


def layer_kinds(layers: list[LayerRow]) -> str:
    """How many layers of each type, in order of first appearance: ``35 conv, 52 batch_norm``."""
    counts = Counter(layer.type for layer in layers)
    return ", ".join(f"{count} {kind}" for kind, count in counts.items())


def architecture_section(view: RunView) -> Section:
    """Each network's input, parameters and MACs, with the oracle's layer table folded (report.html);
    its layers counted by type (report.md)."""
    blocks: list[Block] = []
    summary: list[str] = []
    for network in view.networks:
        if network not in view.run.networks:
            blocks += [Heading(network), Text(f"The oracle's analysis of {network} is not in the results.")]
            summary.append(f"{network}: the oracle's analysis is not in the results")
            continue
        analysis = view.run.networks[network]
        by_size = analysis.macs_by_size
        macs = fmt.count(analysis.macs) if analysis.macs is not None or not by_size else (
            ", ".join(f"{fmt.count(value)} at {size}" for size, value in by_size.items()))
        headline = (f"{network}: input {describe_shape(tuple(analysis.input))}, "
                    f"{fmt.count(analysis.params.total if analysis.params else None)} parameters, {macs} MACs per image")
        blocks.append(Details(headline, (architecture_table(analysis.layers),)))
        summary.append(f"{headline}; {len(analysis.layers)} layers: {layer_kinds(analysis.layers)}")
    by_type = Bullets(tuple(summary))
    markdown = (Text("Each network's layers by type; the oracle's table, layer by layer (output shape, parameters, "
                     "MACs), is in report.html."), by_type)
    return Section("Architecture", "architecture", (Split(markdown, (by_type, *blocks)),))
