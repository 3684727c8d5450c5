"""The report's findings: each published take-away judged in every framework and pooled, and
every job's training outcome (:mod:`harness.findings`). These blocks open the Summary."""

from __future__ import annotations

import pandas as pd

from harness.findings import outcomes
from harness.findings.adapter import RunFacts, facts
from harness.findings.power import CONTRADICTED, HOLDS
from harness.findings.verdicts import NOT_RUN, POOLED, Judged, Verdict, judge
from harness.report import format as fmt
from harness.report.document import Block, Bullets, Details, Mark, Table, Text
from harness.report.model import RunView

MARKS: dict[str, Mark] = {HOLDS: "pass", CONTRADICTED: "fail"}
POINTS = 100.0


def effect_text(metric: str, value: float | None) -> str:
    if value is None:
        return ""
    return f"{value * POINTS:+.2f} pts" if metric == "test_accuracy" else fmt.ratio(value)


def _cell(metric: str, verdict: Verdict) -> str:
    """``holds: +0.24 pts [-1.79, +2.28], n=3`` or ``undecided: needs 75 seeds``."""
    if metric == "learned" or verdict.effect is None:
        return f"{verdict.verdict}: {verdict.reason}" if verdict.reason else verdict.verdict
    text = f"{verdict.verdict}: {effect_text(metric, verdict.effect)}"
    if verdict.low is not None and verdict.high is not None and verdict.low != verdict.high:
        text += f" [{effect_text(metric, verdict.low)}, {effect_text(metric, verdict.high)}], n={verdict.n}"
    return text + (f"; {verdict.reason}" if verdict.reason else "")


def _published(judged: Judged) -> str:
    claim = judged.claim
    return effect_text(claim.metric, claim.published) or fmt.MISSING


def findings_table(judged: list[Judged], scopes: list[str]) -> Table:
    """One row per finding: the claim, the comparison, the published effect, a verdict per framework and pooled."""
    columns = ["finding", "compared", "published", *scopes]
    rows, marks = [], []
    for item in judged:
        claim = item.claim
        short = {name: (name or "").removeprefix(f"{claim.spec}:") for name in (claim.network, claim.versus)}
        against = short[claim.versus] if claim.value is None else fmt.significant(claim.value)
        by_scope = {verdict.scope: verdict for verdict in item.verdicts}
        cells = [_cell(claim.metric, by_scope[scope]) if scope in by_scope else fmt.MISSING for scope in scopes]
        if NOT_RUN in (v.verdict for v in item.verdicts):
            cells = [fmt.MISSING] * (len(scopes) - 1) + [f"{NOT_RUN}: {item.verdicts[0].reason}"]
        rows.append([claim.claim, f"{claim.metric}: {short[claim.network]} {claim.direction} vs {against}",
                     _published(item), *cells])
        marks.append(["", "", "", *(MARKS.get(by_scope[s].verdict, "warn") if s in by_scope else "" for s in scopes)])
    return Table(pd.DataFrame(rows, columns=columns, dtype=object), ("left",) * len(columns),  # type: ignore[arg-type]
                 marks=pd.DataFrame(marks, columns=columns, dtype=object), sort="none", id="findings",
                 title="Published findings")


def _how(judged: list[Judged]) -> Bullets:
    items = []
    for item in judged:
        claim = item.claim
        tests = {(v.test, v.assumptions) for v in item.verdicts if v.test}
        how = "; ".join(f"{test} (assumes {assumptions})" if assumptions else test for test, assumptions in sorted(tests))
        items.append(f"{claim.key} {claim.claim}: {how or 'not judged'}. Source: {claim.source}.")
    return Bullets(tuple(items))


def outcome_table(run: RunFacts) -> Table | None:
    """Per network and framework: each seed's training outcome."""
    if not run.jobs:
        return None
    networks = sorted({job.network for job in run.jobs})
    frameworks = sorted({job.framework for job in run.jobs})
    rows, marks = [], []
    for network in networks:
        row, mark = [network], [""]
        for framework in frameworks:
            kinds = [outcomes.outcome(job).kind for job in run.jobs if job.network == network and job.framework == framework]
            counted = {kind: kinds.count(kind) for kind in dict.fromkeys(kinds)}
            row.append(", ".join(f"{kind} ×{count}" if count > 1 else kind for kind, count in counted.items())
                       or fmt.MISSING)
            mark.append("fail" if outcomes.DIVERGED in counted else "warn" if outcomes.NOT_LEARNED in counted else "")
        rows.append(row)
        marks.append(mark)
    columns = ["network", *frameworks]
    return Table(pd.DataFrame(rows, columns=columns, dtype=object), ("left",) * len(columns),  # type: ignore[arg-type]
                 marks=pd.DataFrame(marks, columns=columns, dtype=object), sort="none", id="outcomes",
                 title="Training outcome")


def _outcome_reasons(run: RunFacts) -> Bullets:
    return Bullets(tuple(f"{job.network} · {job.framework} · seed {job.seed}: {result.kind} ({result.reason})"
                         for job in run.jobs for result in (outcomes.outcome(job),)))


JUDGED = (
    "Each published take-away (the specs' expect.findings) judged in each framework and pooled over them: holds or "
    "contradicted when the effect's 95% interval lies wholly on one side (inside or outside the margin for 'same'), "
    "else undecided, with the seeds (or timing rounds) that would decide it at the observed variance (noncentral-t "
    "power, 80% at two-sided alpha 0.05, the observed effect taken as the truth). A comparison of accuracies over a "
    "network that did not learn is undecided for that reason."
)


def _outcome_text() -> str:
    return (f"Diverged: a loss not finite, or above {outcomes.DIVERGED_FACTOR:g} x ln(classes); did not learn: test "
            f"accuracy not above chance by an exact binomial test at alpha {outcomes.ALPHA:g}, or a test loss at or "
            "above ln(classes); learned: neither.")


def findings_blocks(view: RunView) -> tuple[Block, ...]:
    """The findings table (with how each was judged folded below it) and every job's training outcome,
    for the top of the Summary: the outcome table open when a job did not learn, else one line."""
    run = facts(view.run)
    blocks: list[Block] = []
    judged = judge(run)
    if judged:
        scopes = sorted({v.scope for item in judged for v in item.verdicts} - {POOLED}) + [POOLED]
        blocks += [findings_table(judged, scopes), Details(
            f"How each finding was judged (findings from {run.claims_from})", (Text(JUDGED), _how(judged)))]
    table = outcome_table(run)
    if table is None:
        return tuple(blocks)
    kinds = {outcomes.outcome(job).kind for job in run.jobs}
    why = Details("Why each job got its training outcome", (Text(_outcome_text()), _outcome_reasons(run)))
    if kinds == {outcomes.LEARNED}:
        return (*blocks, Text("Training outcome: every job learned (test accuracy above chance)."), why)
    return (*blocks, table, why)
