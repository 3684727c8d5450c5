"""The report's "Effective settings" section: every hyperparameter as each framework resolved it."""

from __future__ import annotations

from typing import Literal

import pandas as pd

from harness.report import format as fmt
from harness.framework import Setting
from harness.report.document import Block, Details, Heading, Mark, Section, Table, Text
from harness.report.model import DEFAULT_FLAG, RunView, texts
from harness.results import Settings


def settings_of(view: RunView, network: str, framework: str) -> Settings:
    """The settings the framework resolved: from its training job, else from its params check."""
    for job in view.jobs_of(network):
        if job.framework == framework and job.effective_settings:
            return job.effective_settings
    counts = view.counts(network)
    return counts[framework].effective_settings if framework in counts else {}


SettingRows = Literal["differing", "alike"]


def settings_table(view: RunView, network: str, which: SettingRows) -> Table | None:
    """Hyperparameters as each framework resolved them, side by side, defaults flagged: the rows where
    the frameworks differ or one used its own default (``differing``), or all the others (``alike``).
    Together the two tables hold every setting once."""
    per_framework = {fw: settings_of(view, network, fw) for fw in view.frameworks}
    per_framework = {fw: groups for fw, groups in per_framework.items() if groups}
    if not per_framework:
        return None
    layer_order = [layer.name for layer in view.check(network).layers]
    groups = {group for groups in per_framework.values() for group in groups}
    ordered = [g for g in layer_order if g in groups] + sorted(groups - set(layer_order))
    columns = ["group", "setting", "spec", *per_framework, "notes"]
    rows, marks = [], []
    for group in ordered:
        names = sorted({name for groups in per_framework.values() for name in groups.get(group, {})})
        for name in names:
            entries = {fw: _setting(groups, group, name) for fw, groups in per_framework.items()}
            neutral = next((e.neutral for e in entries.values() if e and e.neutral is not None), None)
            row = [group, name, fmt.plain(neutral)]
            mark_row: list[Mark] = ["", "", ""]
            for entry in entries.values():
                if entry is None:
                    row.append(fmt.MISSING)
                    mark_row.append("")
                    continue
                row.append(fmt.plain(entry.value) + (f" {DEFAULT_FLAG}" if entry.default else ""))
                mark_row.append("flag" if entry.default else "")
            notes = [f"{fw}: {entry.note}" for fw, entry in entries.items() if entry and entry.note]
            differs = len(set(row[3:])) > 1 or "flag" in mark_row
            if differs != (which == "differing"):
                continue
            rows.append([*row, "; ".join(notes)])
            marks.append([*mark_row, ""])
    if not rows:
        return None
    align = ("left",) * len(columns)
    return Table(texts(rows, columns), align, marks=pd.DataFrame(marks, columns=columns, dtype=object),
                 id=f"settings-{network}" + ("" if which == "differing" else "-alike"),
                 title=f"{network}: settings that differ or are framework defaults" if which == "differing"
                 else f"{network}: settings every framework resolved alike")


def _setting(groups: Settings, group: str, name: str) -> Setting | None:
    return groups[group][name] if group in groups and name in groups[group] else None


def settings_section(view: RunView) -> Section:
    """Per network, the settings that differ or are framework defaults; the ones resolved alike folded."""
    blocks: list[Block] = [Text(
        "Every hyperparameter as each framework resolved it, in its own convention; the spec column holds "
        f"the spec's neutral value, and {DEFAULT_FLAG} flags a value left to the framework's default. "
        "Shown: the settings where the frameworks differ or one used its own default; the settings every "
        "framework resolved alike are folded below each."
    )]
    for network in view.networks:
        differing = settings_table(view, network, "differing")
        alike = settings_table(view, network, "alike")
        if differing is None and alike is None:
            blocks += [Heading(network), Text("No settings recorded.")]
            continue
        blocks += [Heading(network), differing if differing is not None else Text(
            "Every framework resolved every setting alike, none by its own default.")]
        if alike is not None:
            blocks.append(Details(f"{network}: {len(alike.frame)} settings every framework resolved alike", (alike,)))
    return Section("Effective settings", "settings", tuple(blocks))
