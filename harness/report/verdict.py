"""The verdict on a comparison of two runs, check by check, in the order a reviewer reads it.

Correctness first (parameters, parity, training parity: a break in the NEW run fails unless the
OLD run had the same break, which is shown as *known* so that a broken base branch does not fail
every pull request), then the jobs and their accuracy, then speed (step time and memory). A check
fails on a new correctness break, on a job that stopped finishing, or on a regression as
:mod:`harness.report.compare` judges it (large *and* significant); a change within the noise, or
with too few samples to test, never fails.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from harness.report import compare
from harness.report.compare import Change
from harness.results import ParityEntry, RunResults, TrainParityEntry

PASS, FAIL, KNOWN, NOT_RUN = "pass", "fail", "known break", "not run"
MEMORY = "memory MiB"
CORRECTNESS = ("parameters", "parity", "training parity")


@dataclass(frozen=True)
class Check:
    """One line of the verdict: the check's name, its outcome, what it found and every failure."""

    name: str
    outcome: str
    summary: str
    failures: list[str] = field(default_factory=list)

    @property
    def headline(self) -> str:
        """The summary's first clause (what failed, without the counts of what merely moved)."""
        return self.summary.split(", ")[0]


def _broken(name: str, what: str, new: list[str], known: list[str], total: int) -> Check | None:
    """FAIL over the new breaks (the known ones listed after them), KNOWN when every break was in OLD too."""
    if new:
        return Check(name, FAIL, f"{len(new)} of {total} {what} broke", new + [f"{text} (known: in OLD too)" for text in known])
    if known:
        return Check(name, KNOWN, f"{len(known)} of {total} {what} fail as in OLD", known)
    return None


def _oracle_total(run: RunResults, network: str) -> int | None:
    analysis = run.networks.get(network)
    return analysis.params.total if analysis is not None and analysis.params is not None else None


def _counts(run: RunResults) -> dict[tuple[str, str], int]:
    """Every framework's parameter count per network: the counting pass's, else a job's."""
    counted = {(job.network, job.framework): job.params.total for job in run.jobs if job.params is not None}
    for network, per in run.framework_params.items():
        for framework, entry in per.items():
            if entry.params is not None:
                counted[(network, framework)] = entry.params.total
    return counted


def _count_breaks(run: RunResults) -> list[str]:
    """Every framework's count that differs from the oracle's, and every published count that does not hold."""
    failures = []
    for (network, framework), total in sorted(_counts(run).items()):
        oracle = _oracle_total(run, network)
        if oracle is not None and total != oracle:
            failures.append(f"{network} · {framework}: {total:,} parameters, the oracle counts {oracle:,}")
    for network in sorted(run.networks):
        for expect in run.networks[network].expect:
            if not expect.ok:
                failures.append(f"{network}: the spec's {expect.scope} {expect.field} is "
                                f"{expect.expected}, the oracle counts {expect.actual}")
    return failures


def parameters_check(old: RunResults, new: RunResults, changes: Sequence[Change]) -> Check:
    """Every framework's count equals the oracle's, and every published count the spec states holds."""
    counts = _counts(new)
    before = set(_count_breaks(old))
    breaks = _count_breaks(new)
    changed = [c for c in changes if c.metric == "params" and c.verdict == compare.CHANGED]
    broken = _broken("parameters", "count(s)", [b for b in breaks if b not in before], [b for b in breaks if b in before],
                     len(counts))
    if broken is not None:
        return broken
    if not counts:
        return Check("parameters", NOT_RUN, "no parameter count in the NEW run")
    moved = f"; {len(changed)} changed since OLD (listed below)" if changed else ""
    return Check("parameters", PASS, f"{len(counts)} count(s) agree with the oracle{moved}")


Entry = ParityEntry | TrainParityEntry


def _pair_check(name: str, entries: Sequence[Entry], old_entries: Sequence[Entry]) -> Check:
    """A check over recorded parity pairs: fails on any pair whose ``passed`` is false."""
    if not entries:
        return Check(name, NOT_RUN, "no pair in the NEW run")

    def pair(entry: Entry) -> str:
        dtype = getattr(entry, "dtype", None)
        return f"{entry.network}: {entry.a} vs {entry.b}" + (f" ({dtype})" if dtype else "")

    failed_before = {pair(entry) for entry in old_entries if entry.passed is False}
    new, known = [], []
    for entry in entries:
        if entry.passed is False:
            figures = entry.model_dump(include={"max_abs", "max_rel", "max_loss_diff", "max_weight_diff"})
            numbers = ", ".join(f"{key} {value:.2e}" for key, value in figures.items() if isinstance(value, float))
            where = getattr(entry, "first_divergent_layer", None) or getattr(entry, "first_divergence", None)
            detail = "; ".join(part for part in (numbers, f"first diverges at {where}" if where else "") if part)
            (known if pair(entry) in failed_before else new).append(pair(entry) + (f" ({detail})" if detail else ""))
    broken = _broken(name, "pair(s)", new, known, len(entries))
    return broken or Check(name, PASS, f"{len(entries)} pair(s) agree")


ONLY_IN_OLD = "only in OLD"


def change_text(change: Change) -> str:
    """One change on one line: where, what, old → new, and the ratio with its interval and p-value."""
    ratio = f", ×{change.ratio:.2f}" if change.ratio is not None else ""
    interval = f", 95% CI {compare.interval_text(change.interval)}" if change.interval is not None else ""
    p_value = f", p = {compare.p_text(change.p_value)}" if change.p_value is not None else ""
    return f"{change.network} · {change.framework} · {change.metric}: {change.old} → {change.new}{ratio}{interval}{p_value}"


def _measured_check(name: str, changes: Sequence[Change], metrics: tuple[str, ...],
                    failing: tuple[str, ...] = (compare.REGRESSION,)) -> Check:
    """A check over compared metrics: fails on a ``failing`` verdict (a regression), says how many
    improved or were untestable."""
    mine = [c for c in changes if c.metric in metrics]
    failures = [f"{c.verdict}: {change_text(c)}" for c in mine if c.verdict in failing]
    improved = sum(c.verdict == compare.IMPROVEMENT for c in mine)
    untestable = sum(c.verdict.startswith(compare.INSUFFICIENT) for c in mine)
    noise = sum(c.verdict in (compare.WITHIN_NOISE, compare.NOISY) for c in mine)
    regressed = sum(c.verdict == compare.REGRESSION for c in mine)
    lost = sum(c.verdict == ONLY_IN_OLD for c in mine if c.verdict in failing)
    parts = [text for count, text in ((regressed, f"{regressed} regression(s)"), (lost, f"{lost} job group(s) missing from NEW"))
             if count] or ["no significant regression"]
    parts += [f"{count} {what}" for count, what in ((improved, "improvement(s)"), (noise, "large change(s) within the noise"),
                                                    (untestable, "with too few samples to test")) if count]
    return Check(name, FAIL if failures else PASS, ", ".join(parts), failures)


def checks(old: RunResults, new: RunResults, changes: Sequence[Change]) -> list[Check]:
    """The verdict's checks in reading order: parameters, parity, training parity, jobs and accuracy, speed."""
    # A job of OLD that NEW did not run at all (a framework that no longer loads, say) fails like
    # one that stopped finishing.
    jobs = _measured_check("jobs and accuracy", changes, ("job", "status", "accuracy"), (compare.REGRESSION, ONLY_IN_OLD))
    return [
        parameters_check(old, new, changes),
        _pair_check("parity", new.parity, old.parity),
        _pair_check("training parity", new.train_parity, old.train_parity),
        jobs,
        _measured_check("speed and memory", changes, ("step ms", MEMORY)),
    ]


def failed(found: Sequence[Check]) -> list[Check]:
    return [check for check in found if check.outcome == FAIL]
