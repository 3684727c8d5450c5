"""The report's "Parameter agreement" section: oracle, published and framework parameter counts, the
layers that disagree, and parity (:mod:`harness.report.parity`)."""

from __future__ import annotations

import pandas as pd

from harness.report import format as fmt
from harness.report.document import Block, Heading, Mark, Section, Table, Text, capped
from harness.report.model import FAIL, PASS, RunView, texts
from harness.report.parity import parity_blocks
from harness.results import LayerParams, LayerRow


COUNTS = (("trainable", "trainable"), ("non_trainable", "non-trainable"), ("total", "total"))
NO_LAYER = LayerParams()
"""A layer one side does not have: no parameters."""


def params_table(view: RunView) -> Table:
    """Oracle vs published ``expect`` vs each framework, with a pass/fail mark per cell.

    The whole network's counts always; the backbone's alone when the spec publishes them (the
    frameworks report whole networks, so their backbone cells stay empty).
    """
    several = len(view.networks) > 1
    columns = (["network"] if several else []) + ["count", "oracle", "published", *view.frameworks]
    rows, marks = [], []
    for network in view.networks:
        analysis = view.check(network)
        published = {(item.scope, item.field): item.expected for item in analysis.expect}
        counted = view.counts(network)
        scopes = [("params", "")] + ([("backbone", "backbone ")] if any(s == "backbone" for s, _ in published) else [])
        for scope, prefix in scopes:
            oracle = analysis.params if scope == "params" else analysis.backbone_params
            for field, label in COUNTS:
                if scope == "backbone" and (scope, field) not in published:
                    continue
                reference = None if oracle is None else getattr(oracle, field)
                row = ([network] if several else []) + [prefix + label, fmt.MISSING if oracle is None else fmt.count(reference)]
                mark_row: list[Mark] = [""] * len(row)
                cells = [_agreement(published.get((scope, field)), reference)]
                for framework in view.frameworks:
                    entry = counted[framework] if scope == "params" and framework in counted else None
                    if entry is not None and entry.params is None:
                        cells.append((f"{FAIL} build failed", "fail") if field == "total" else (fmt.MISSING, ""))
                    else:
                        cells.append(_agreement(None if entry is None else getattr(entry.params, field), reference))
                rows.append(row + [cell for cell, _ in cells])
                marks.append(mark_row + [mark for _, mark in cells])
    align = tuple("left" if c in ("network", "count") else "right" for c in columns)
    return Table(texts(rows, columns), align, marks=pd.DataFrame(marks, columns=columns, dtype=object), id="params",
                 title="Parameter counts")


def _agreement(value: int | None, reference: int | None) -> tuple[str, Mark]:
    if value is None:
        return fmt.MISSING, ""
    if reference is None:
        return fmt.count(value), ""
    if value == reference:
        return f"{fmt.count(value)} {PASS}", "pass"
    return f"{fmt.count(value)} {FAIL} ({value - reference:+,})", "fail"


MARKDOWN_ROWS = 40
"""The most layers that disagree with the oracle report.md lists (report.html lists every one)."""


def layer_disagreements(view: RunView) -> Table | None:
    """Every layer whose count in a framework differs from the oracle's, or None if all agree."""
    rows = []
    for network in view.networks:
        oracle: dict[str, LayerRow] = {layer.name: layer for layer in view.check(network).layers}
        for framework, entry in view.counts(network).items():
            if entry.params is None:
                continue
            for name in [*oracle, *(n for n in entry.layers if n not in oracle)]:
                expected = oracle[name] if name in oracle else NO_LAYER
                got = entry.layers[name] if name in entry.layers else NO_LAYER
                if (expected.trainable, expected.non_trainable) != (got.trainable, got.non_trainable):
                    rows.append([network, name, framework,
                                 f"{fmt.count(expected.trainable)} / {fmt.count(expected.non_trainable)}",
                                 f"{fmt.count(got.trainable)} / {fmt.count(got.non_trainable)}"])
    if not rows:
        return None
    columns = ["network", "layer", "framework", "oracle (trainable / non-trainable)",
               "framework (trainable / non-trainable)"]
    return Table(texts(rows, columns), ("left", "left", "left", "right", "right"), id="layer-disagreements",
                 title="Layers that disagree with the oracle")


def parameters_section(view: RunView) -> Section:
    """Parameter counts against the oracle, the layers that disagree, then parity."""
    blocks: list[Block] = [
        Text("Parameters as the oracle counts them, as the spec's source published them (expect), and as each "
             "framework holds them after normalisation (batch-norm moving statistics non-trainable)."),
        params_table(view),
    ]
    disagreements = layer_disagreements(view)
    if disagreements is not None:
        blocks += [Heading("Layers that disagree with the oracle"), capped(disagreements, MARKDOWN_ROWS)]
    return Section("Parameter agreement", "parameters", (*blocks, *parity_blocks(view)))
