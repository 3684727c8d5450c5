"""The report's "Effective settings" section: every hyperparameter as each framework resolved it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pandas as pd

from harness.report import format as fmt
from harness.framework import Setting
from harness.report.document import Block, Bullets, Details, Heading, Mark, Section, Split, Table, Text
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


@dataclass(frozen=True)
class SettingRow:
    """One setting of one group (a layer, the optimizer...) across the frameworks: the kind of the group
    (its layer type, or the group itself), the spec's value, each framework's value, mark and note."""

    group: str
    kind: str
    name: str
    spec: str
    values: dict[str, str]
    marks: dict[str, Mark]
    notes: dict[str, str]
    """Framework -> its note on the setting (only frameworks with one)."""

    @property
    def differs(self) -> bool:
        """The frameworks resolved it differently, or one left it to its own default."""
        return len(set(self.values.values())) > 1 or "flag" in self.marks.values()

    @property
    def note_text(self) -> str:
        return "; ".join(f"{fw}: {note}" for fw, note in self.notes.items())


def setting_rows(view: RunView, network: str) -> tuple[list[str], list[SettingRow]]:
    """The frameworks that recorded settings, and every setting of every group, in layer order."""
    per_framework = {fw: settings_of(view, network, fw) for fw in view.frameworks}
    per_framework = {fw: groups for fw, groups in per_framework.items() if groups}
    types = {layer.name: layer.type for layer in view.check(network).layers}
    groups = {group for groups in per_framework.values() for group in groups}
    ordered = [g for g in types if g in groups] + sorted(groups - set(types))
    rows = []
    for group in ordered:
        names = sorted({name for groups in per_framework.values() for name in groups.get(group, {})})
        for name in names:
            entries = {fw: _setting(groups, group, name) for fw, groups in per_framework.items()}
            neutral = next((e.neutral for e in entries.values() if e and e.neutral is not None), None)
            values = {fw: fmt.MISSING if e is None else fmt.plain(e.value) + (f" {DEFAULT_FLAG}" if e.default else "")
                      for fw, e in entries.items()}
            marks: dict[str, Mark] = {fw: "flag" if e is not None and e.default else "" for fw, e in entries.items()}
            notes = {fw: entry.note for fw, entry in entries.items() if entry and entry.note}
            rows.append(SettingRow(group, types.get(group, group), name, fmt.plain(neutral), values, marks, notes))
    return list(per_framework), rows


def settings_table(view: RunView, network: str, which: SettingRows) -> Table | None:
    """Hyperparameters as each framework resolved them, side by side, defaults flagged: the rows where
    the frameworks differ or one used its own default (``differing``), or all the others (``alike``).
    Together the two tables hold every setting once."""
    frameworks, every = setting_rows(view, network)
    chosen = [row for row in every if row.differs == (which == "differing")]
    if not chosen:
        return None
    columns = ["group", "setting", "spec", *frameworks, "notes"]
    cells = [[row.group, row.name, row.spec, *row.values.values(), row.note_text] for row in chosen]
    marks = [["", "", "", *row.marks.values(), ""] for row in chosen]
    return Table(texts(cells, columns), ("left",) * len(columns),
                 marks=pd.DataFrame(marks, columns=columns, dtype=object),
                 id=f"settings-{network}" + ("" if which == "differing" else "-alike"),
                 title=f"{network}: settings that differ or are framework defaults" if which == "differing"
                 else f"{network}: settings every framework resolved alike")


def _first_of(values: list[str]) -> str:
    distinct = list(dict.fromkeys(values))
    return distinct[0] + (f" (+{len(distinct) - 1} other values)" if len(distinct) > 1 else "")


def kinds_table(rows: list[tuple[str, SettingRow]], frameworks: list[str]) -> Table:
    """``(network, row)`` pairs folded into kinds: one row per layer type (or group) and setting, with
    the layers and networks that share it counted, so its size follows the kinds of layers, not their
    number. A value that varies from layer to layer shows the first and how many others there are."""
    kinds: dict[tuple[str, str], list[tuple[str, SettingRow]]] = {}
    for network, row in rows:
        kinds.setdefault((row.kind, row.name), []).append((network, row))
    cells, marks = [], []
    for (kind, name), members in kinds.items():
        names = list(dict.fromkeys(row.group for _, row in members))
        networks = len({network for network, _ in members})
        where = names[0] if len(names) == 1 else f"{names[0]} … {names[-1]}"
        if len(members) > 1:
            where = f"{len(members)}{f' in {networks} networks' if networks > 1 else ''}: {where}"
        cells.append([kind, name, _first_of([row.spec for _, row in members]),
                      *(_first_of([row.values.get(fw, fmt.MISSING) for _, row in members]) for fw in frameworks), where])
        marks.append(["", "", "", *(members[0][1].marks.get(fw, "") for fw in frameworks), ""])
    columns = ["kind", "setting", "spec", *frameworks, "layers"]
    return Table(texts(cells, columns), ("left",) * len(columns),
                 marks=pd.DataFrame(marks, columns=columns, dtype=object), id="settings-kinds",
                 title="Kinds of settings that differ or are framework defaults")


def kind_notes(rows: list[SettingRow]) -> Bullets | None:
    """The frameworks' notes on ``rows``, each once, with the frameworks that give it."""
    by_note: dict[str, list[str]] = {}
    for row in rows:
        for framework, note in row.notes.items():
            frameworks = by_note.setdefault(note, [])
            if framework not in frameworks:
                frameworks.append(framework)
    return Bullets(tuple(f"{', '.join(fws)}: {note}" for note, fws in by_note.items())) if by_note else None


def settings_summary(view: RunView) -> tuple[Block, ...]:
    """For report.md: per network, how many settings differ over how many layers; then the kinds of
    setting that differ, each listed once for the whole run (not per layer), and the notes once each."""
    counts, differing, frameworks = [], [], []
    for network in view.networks:
        names, every = setting_rows(view, network)
        frameworks += [fw for fw in names if fw not in frameworks]
        rows = [row for row in every if row.differs]
        differing += [(network, row) for row in rows]
        kinds = len({(row.kind, row.name) for row in rows})
        counts.append(f"{network}: {kinds} kinds over {len({row.group for row in rows})} layers and groups "
                      f"({len(rows)} settings) differ or are framework defaults; {len(every) - len(rows)} alike"
                      if every else f"{network}: no settings recorded")
    blocks: list[Block] = [Text("Every setting, layer by layer, is in report.html (and details.json.gz); here, the "
                                "kinds of setting that differ, each once."), Bullets(tuple(counts))]
    if differing:
        blocks.append(kinds_table(differing, frameworks))
        notes = kind_notes([row for _, row in differing])
        if notes is not None:
            blocks.append(Details("The frameworks' notes on these settings", (notes,)))
    return tuple(blocks)


def _setting(groups: Settings, group: str, name: str) -> Setting | None:
    return groups[group][name] if group in groups and name in groups[group] else None


def settings_section(view: RunView) -> Section:
    """Per network, the settings that differ or are framework defaults, the ones resolved alike folded
    (report.html); their kinds, each once, for report.md."""
    detail: list[Block] = [Text(
        "Shown: the settings where the frameworks differ or one used its own default; the settings every "
        "framework resolved alike are folded below each.")]
    for network in view.networks:
        differing = settings_table(view, network, "differing")
        alike = settings_table(view, network, "alike")
        if differing is None and alike is None:
            detail += [Heading(network), Text("No settings recorded.")]
            continue
        detail += [Heading(network), differing if differing is not None else Text(
            "Every framework resolved every setting alike, none by its own default.")]
        if alike is not None:
            detail.append(Details(f"{network}: {len(alike.frame)} settings every framework resolved alike", (alike,)))
    intro = Text(
        "Every hyperparameter as each framework resolved it, in its own convention; the spec column holds "
        f"the spec's neutral value, and {DEFAULT_FLAG} flags a value left to the framework's default."
    )
    summary = settings_summary(view)
    return Section("Effective settings", "settings", (intro, Split(summary, (*summary, *detail))))
