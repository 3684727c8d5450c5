"""An index of every published finding over several committed runs: one row per take-away with its
verdict in each framework, pooled, and how sure it is, then the command that would decide what is
still open. ``python -m harness.report.findings_index --readme reports/README.md reports/*/results.json``
rewrites the block between :data:`START` and :data:`END` in that file; without ``--readme`` the index
is printed."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import pandas as pd

from harness.findings.adapter import facts
from harness.findings.sequential import SequentialRule
from harness.findings.verdicts import NOT_RUN, POOLED, Judged, Verdict, judge
from harness.report import load_results
from harness.report.document import Table
from harness.report.findings import effect_text
from harness.report.markdown import table
from harness.results import RunResults

START = "<!-- findings index: written by python -m harness.report.findings_index --readme; edits here are overwritten -->"
END = "<!-- findings index: end -->"
INTRO = """One row per take-away of the reference experiments (each spec's `expect: findings`), judged as each
report's Summary judges it: *holds* or *contradicted* when the effect's 95% interval lies wholly on
one side, else *undecided*, with the seeds (or timing rounds per network) that would decide it at
the variance observed. Certainty: the pooled effect with its 95% interval.
"""
DECIDE_INTRO = """What would decide the open take-aways: each report's command at full length (the spec's own
epochs, data and batch size), with the seeds its power calculation asks for (`--seeds auto` adds
them one at a time under the sequential rule, up to {max_seeds}; beyond that a fixed list) on a Ray
cluster (`--ray-address auto` on one of its nodes; add `--device cuda` where the nodes have GPUs).
Timing take-aways need a quiet node, one job at a time: leave `--concurrency` at 1.
"""
DROPPED_OPTIONS = {"--seeds": 1, "--seed": 1, "--out": 1, "--quiet": 0, "--executor": 1, "--concurrency": 1,
                   "--ray-address": 1, "--limit-train": 1, "--limit-test": 1, "--epochs": 1, "--batch-size": 1,
                   "--timeout": 1, "--budget": 1}
"""Options of a report's command that the deciding command replaces (with how many values each takes)."""


def _short(verdict: Verdict) -> str:
    if verdict.verdict == NOT_RUN:
        return f"{NOT_RUN} ({verdict.reason})"
    if verdict.needed is not None:
        return f"undecided, {verdict.reason}"
    if verdict.verdict == "undecided" and verdict.reason:
        return f"undecided ({verdict.reason})"
    return verdict.verdict


def _certainty(item: Judged) -> str:
    pooled = item.verdicts[-1]
    metric = item.claim.metric
    if pooled.effect is None or metric == "learned":
        return pooled.reason or ""
    text = effect_text(metric, pooled.effect)
    if pooled.low is not None and pooled.high is not None and pooled.low != pooled.high:
        text += f" [{effect_text(metric, pooled.low)}, {effect_text(metric, pooled.high)}], n={pooled.n}"
    return text


def _judged(paths: list[Path]) -> list[tuple[str, RunResults, list[Judged]]]:
    """Each run of ``paths`` (results files or report folders): its folder's name, its results, its findings judged."""
    runs = []
    for path in paths:
        folder = Path(path).parent if Path(path).is_file() else Path(path)
        results = load_results(Path(path))
        runs.append((folder.name, results, judge(facts(results))))
    return runs


def _table(runs: list[tuple[str, RunResults, list[Judged]]]) -> str:
    rows = [(report, item) for report, _, judged in runs for item in judged]
    frameworks = sorted({v.scope for _, item in rows for v in item.verdicts} - {POOLED})
    columns = ["report", "take-away", "published", *frameworks, POOLED, "certainty (pooled)"]
    cells = []
    for report, item in rows:
        by_scope = {v.scope: v for v in item.verdicts}
        cells.append([f"[{report}]({report}/report.md)", item.claim.claim, effect_text(item.claim.metric, item.claim.published),
                      *(_short(by_scope[s]) if s in by_scope else "" for s in [*frameworks, POOLED]), _certainty(item)])
    frame = pd.DataFrame(cells, columns=columns, dtype=object)
    return table(Table(frame, ("left",) * len(columns), sort="none"))  # type: ignore[arg-type]


def deciding_command(report: str, results: RunResults, seeds: int, rule: SequentialRule | None = None) -> str:
    """``results``' own command at full length, with ``seeds`` seeds on a Ray cluster, into ``REPORT_decided``."""
    words = shlex.split(results.command)
    kept, index = [], 0
    while index < len(words):
        word = words[index]
        name = word.split("=", 1)[0]
        if name in DROPPED_OPTIONS:
            index += 1 + (DROPPED_OPTIONS[name] if "=" not in word else 0)
            continue
        kept.append(word)
        index += 1
    most = (rule or SequentialRule()).max_seeds
    chosen = ["--seeds", "auto", "--budget", "24h"] if seeds <= most else ["--seeds", f"$(seq -s, 0 {seeds - 1})"]
    return " ".join([*map(shlex.quote, kept), *chosen, "--executor", "ray", "--ray-address", "auto", "--out",
                     f"{report}_decided"])


def _open_seeds(judged: list[Judged]) -> tuple[int, int]:
    """How many take-aways of a run are undecided somewhere, and the most seeds an accuracy verdict asks for (at least 3)."""
    open_claims = [item for item in judged if any(v.verdict == "undecided" for v in item.verdicts)]
    needed = [v.needed for item in open_claims if item.claim.metric == "test_accuracy" for v in item.verdicts if v.needed is not None]
    return len(open_claims), max([3, *needed])


def _to_decide(runs: list[tuple[str, RunResults, list[Judged]]]) -> str:
    lines = []
    for report, results, judged in runs:
        claims, seeds = _open_seeds(judged)
        if claims:
            lines.append(f"- **{report}**: {claims} open; {seeds} seeds at the variance it observed: "
                         f"`{deciding_command(report, results, seeds)}`")
    if not lines:
        return "Every take-away of the committed reports is decided.\n"
    return DECIDE_INTRO.format(max_seeds=SequentialRule().max_seeds) + "\n" + "\n".join(lines) + "\n"


def index_markdown(paths: list[Path]) -> str:
    """The index of every finding of the runs in ``paths`` (results files or report folders), and what would decide the open ones."""
    runs = _judged(paths)
    return INTRO + "\n" + _table(runs) + "\n\n" + _to_decide(runs)


def write_into(readme: Path, index: str) -> None:
    """Replace the block between :data:`START` and :data:`END` in ``readme`` with ``index``."""
    text = readme.read_text(encoding="utf-8")
    if START not in text or END not in text:
        raise SystemExit(f"{readme} has no findings block: add the lines {START} and {END} where the index goes.")
    before, rest = text.split(START, 1)
    after = rest.split(END, 1)[1]
    readme.write_text(f"{before}{START}\n{index}{END}{after}", encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m harness.report.findings_index", description=__doc__)
    parser.add_argument("--readme", type=Path, help="write the index into this file's findings block instead of printing it")
    parser.add_argument("results", nargs="+", type=Path, help="results.json files or report folders")
    arguments = parser.parse_args(argv)
    index = index_markdown(arguments.results)
    if arguments.readme is None:
        sys.stdout.write(index)
    else:
        write_into(arguments.readme, index)


if __name__ == "__main__":
    main()
