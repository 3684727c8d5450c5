"""The report's Summary: the finding in numbers with its certainty, the first thing a reader sees.

Per network and framework: test accuracy over the seeds (mean ± 95% confidence interval, ``n``
stated; with one seed ``n=1`` and nothing is marked), the median step time with its spread, the
images per second at that same median step; per network, the parameter and parity checks.
With several networks (variants) the first is the baseline, and every other is stated as factors
against it: parameters, MACs, step time, and the accuracy difference with its confidence interval
and a t-test over the seeds (:mod:`harness.report.stats`); a difference is bold only when it is
significant. Jobs that did not finish are named, and so is every network that diverged or did not
learn in a framework, in the words of the training outcome (:mod:`harness.findings.outcomes`): its
accuracy says nothing about the network, so no accuracy finding is drawn from it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from harness.findings import outcomes
from harness.findings.adapter import job_facts
from harness.report import format as fmt
from harness.report import stats
from harness.report.banners import shortened, substitutions
from harness.report.document import Block, Bullets, Details, Mark, Section, Table, Text
from harness.report.findings import findings_blocks
from harness.report.model import FAIL, PASS, RunView, first_line, labels
from harness.report.published import published_blocks
from harness.report.spread import spread_blocks
from harness.report.native import native_blocks
from harness.results import JobResult

POINTS = 100.0
"""Accuracy differences are written in percentage points."""


@dataclass(frozen=True)
class Group:
    """The jobs of one network in one framework, over the seeds, with their summary statistics."""

    network: str
    framework: str
    jobs: list[JobResult]
    accuracy: dict[int, float]
    """Seed -> final test accuracy, of the jobs that finished ok."""
    estimate: stats.Estimate | None
    step: stats.Spread | None
    batch_size: int
    outcomes: tuple[str, ...]
    """The training outcome of each job that finished ok (:mod:`harness.findings.outcomes`)."""

    @property
    def trouble(self) -> str | None:
        """``diverged`` when a job diverged, else ``did not learn`` when one did not learn, else None."""
        return next((kind for kind in (outcomes.DIVERGED, outcomes.NOT_LEARNED) if kind in self.outcomes), None)

    @property
    def images_per_second(self) -> float | None:
        """Images per second at the median step time (the same statistic as the step time shown)."""
        return None if self.step is None or self.step.median <= 0 else self.batch_size * 1000.0 / self.step.median

    @property
    def statuses(self) -> str:
        """The statuses of jobs that did not finish ok, e.g. ``diverged`` or ``failed, timeout``."""
        return ", ".join(dict.fromkeys(job.status for job in self.jobs if job.status != "ok"))


def groups(view: RunView) -> dict[tuple[str, str], Group]:
    """(network, framework) -> its group, for every pair that ran at least one job."""
    found = {}
    for network in view.networks:
        for framework in view.frameworks:
            jobs = [job for job in view.jobs_of(network) if job.framework == framework]
            if not jobs:
                continue
            ok = [job for job in jobs if job.status == "ok"]
            accuracy = {job.seed: job.final_test_accuracy for job in ok if job.final_test_accuracy is not None}
            timings = [job.step_time for job in ok if job.step_time is not None]
            kinds = tuple(outcomes.outcome(job_facts(view.run, job)).kind for job in ok)
            found[(network, framework)] = Group(network, framework, jobs, accuracy,
                                                stats.estimate(list(accuracy.values())), stats.timing_spread(timings),
                                                jobs[0].batch_size, kinds)
    return found


def chance(view: RunView, network: str) -> float | None:
    """1 / classes of ``network`` (its last layer's width), or None if unknown."""
    layers = view.check(network).layers
    shape = layers[-1].output_shape if layers else None
    return 1.0 / shape[-1] if shape and isinstance(shape[-1], int) and shape[-1] > 1 else None


def troubled(view: RunView, found: list[Group]) -> str:
    """``lenet diverged (keras, torch); lenet_stride2 did not learn (paddle)``: the groups that diverged or
    did not learn, in the training outcome's words; empty when every one learned."""
    names = labels(view)
    by_kind: dict[tuple[str, str], list[str]] = {}
    for group in found:
        if group.trouble:
            by_kind.setdefault((names[group.network], group.trouble), []).append(group.framework)
    return "; ".join(f"{network} {kind} ({', '.join(frameworks)})" for (network, kind), frameworks in by_kind.items())


def _ratio(new: float | None, old: float | None) -> float | None:
    return None if new is None or old is None or old == 0 else new / old


def _oracle(view: RunView, network: str, field: str) -> int | None:
    analysis = view.check(network)
    if field == "params":
        return analysis.params.total if analysis.params else None
    return analysis.macs


# ----------------------------------------------------------------------------- networks table


def _params_agree(view: RunView, network: str) -> str:
    """✓ when every framework's count equals the oracle's, else ✗ with the frameworks that differ."""
    oracle = _oracle(view, network, "params")
    counted = {}
    counts = view.counts(network)
    for framework in view.frameworks:
        params = counts[framework].params if framework in counts else None
        job = next((j for j in view.jobs_of(network) if j.framework == framework and j.params is not None), None)
        params = params or (job.params if job else None)
        if params is not None:
            counted[framework] = params.total
    if oracle is None or not counted:
        return ""
    differ = [framework for framework, total in counted.items() if total != oracle]
    return f" {FAIL} ({', '.join(differ)})" if differ else f" {PASS}"


def _parity(view: RunView, network: str) -> str:
    """✓ when every parity pair of ``network`` agreed, ✗ with the pairs that did not, — when none ran."""
    entries = [entry for entry in view.run.parity if entry.network == network]
    if not entries:
        return fmt.MISSING
    failed = [f"{entry.a} vs {entry.b}" for entry in entries if entry.passed is False]
    return f"{FAIL} {', '.join(failed)}" if failed else f"{PASS} {len(entries)} pair{'s' if len(entries) > 1 else ''}"


def _macs(view: RunView, network: str) -> str:
    analysis = view.check(network)
    if analysis.macs is not None or not analysis.macs_by_size:
        return fmt.count(analysis.macs)
    size, value = next(iter(analysis.macs_by_size.items()))
    return f"{fmt.count(value)} at {size}"


def _published(view: RunView, network: str) -> str:
    """The spec's published test accuracy, with why it is not comparable when it is not."""
    reference = view.check(network).reference
    value = reference.test_accuracy if reference else None
    if value is None:
        return fmt.MISSING
    reasons = [f"published on {requested}" for (_, requested), networks in substitutions(view).items()
               if network in networks]
    if network in shortened(view):
        reasons.append("this run is a slice")
    return fmt.accuracy(value) + (f", not comparable ({'; '.join(reasons)})" if reasons else "")


def networks_table(view: RunView) -> Table:
    """Per network: parameters (✓ when every framework agrees with the oracle) and MACs, as factors of
    the first network's, parity across the frameworks, and the published test accuracy."""
    names = labels(view)
    base = view.networks[0]
    published = any(_published(view, network) != fmt.MISSING for network in view.networks)
    columns = ["network", "parameters", "MACs per image", "parity"] + (["published test accuracy"] if published else [])
    rows = []
    for network in view.networks:
        params = fmt.count(_oracle(view, network, "params")) + _params_agree(view, network)
        macs = _macs(view, network)
        if network != base:
            params += _factor(_ratio(_oracle(view, network, "params"), _oracle(view, base, "params")))
            macs += _factor(_ratio(_oracle(view, network, "macs"), _oracle(view, base, "macs")))
        rows.append([names[network], params, macs, _parity(view, network)]
                    + ([_published(view, network)] if published else []))
    align = ("left", "right", "right", "left", "left")[:len(columns)]
    return Table(pd.DataFrame(rows, columns=columns, dtype=object), align,  # type: ignore[arg-type]
                 sort="none", id="summary-networks", title="Networks")


def _factor(value: float | None) -> str:
    return "" if value is None else f" ({fmt.ratio(value)})"


# ----------------------------------------------------------------------------- frameworks table


def seed_count(found: dict[tuple[str, str], Group]) -> int | None:
    """The number of seeds behind every accuracy, or None when it varies."""
    counts = {group.estimate.n for group in found.values() if group.estimate is not None}
    return counts.pop() if len(counts) == 1 else None


def _accuracy_cell(group: Group, n: int | None) -> str:
    if group.estimate is None:
        return group.statuses or fmt.MISSING
    text = fmt.accuracy(group.estimate.mean)
    if group.estimate.half_width is not None:
        text += f" ± {fmt.accuracy(group.estimate.half_width)}"
    return text + ("" if group.estimate.n == n else f" (n={group.estimate.n})")


def _difference_cell(difference: stats.Difference | None) -> str:
    if difference is None:
        return fmt.MISSING
    text = f"{difference.mean * POINTS:+.2f}"
    if difference.half_width is not None:
        text += f" ± {difference.half_width * POINTS:.2f}"
    if difference.p_value is not None:
        text += f" (p={difference.p_value:.2g})"
    return text


def _step_cell(group: Group) -> str:
    noisy = " ⚠ noisy" if any(job.noise_flags for job in group.jobs if job.status == "ok") else ""
    return _spread_text(group) + noisy


def _spread_text(group: Group) -> str:
    if group.step is None:
        return group.statuses or fmt.MISSING
    step = group.step
    return f"{fmt.significant(step.median)} [{fmt.significant(step.low)}–{fmt.significant(step.high)}]"


def differences(view: RunView, found: dict[tuple[str, str], Group]) -> dict[tuple[str, str], stats.Difference | None]:
    """(network, framework) -> its accuracy minus the first network's in the same framework."""
    base = view.networks[0]
    return {key: stats.difference(found[(base, key[1])].accuracy, group.accuracy) if (base, key[1]) in found else None
            for key, group in found.items() if key[0] != base}


def step_ratio(view: RunView, found: dict[tuple[str, str], Group], network: str, framework: str) -> float | None:
    """The median step of ``network`` over the first network's, in ``framework``; None if either is missing."""
    group, base = found.get((network, framework)), found.get((view.networks[0], framework))
    if group is None or base is None or group.step is None or base.step is None:
        return None
    return _ratio(group.step.median, base.step.median)


def frameworks_table(view: RunView, found: dict[tuple[str, str], Group]) -> Table:
    """Per network and framework: accuracy, its difference from the baseline, step time and its factor,
    and images/s."""
    names = labels(view)
    base = view.networks[0]
    several = len(view.networks) > 1
    n = seed_count(found)
    diffs = differences(view, found)
    columns = ["network", "framework", f"test accuracy ({'n varies' if n is None else f'n={n}'})"]
    columns += ["Δ accuracy, points"] if several else []
    columns += ["step, ms: median [p10–p90]"] + (["step ×"] if several else [])
    columns += ["images/s"]
    rows, marks = [], []
    previous = None
    for (network, framework), group in found.items():
        row = [names[network] if network != previous else "", framework, _accuracy_cell(group, n)]
        mark: list[Mark] = ["", "", ""]
        previous = network
        if several:
            difference = diffs.get((network, framework))
            row.append("baseline" if network == base else _difference_cell(difference))
            mark.append("significant" if difference is not None and difference.significant else "")
        row.append(_step_cell(group))
        mark.append("")
        if several:
            row.append("baseline" if network == base else fmt.ratio(step_ratio(view, found, network, framework)))
            mark.append("")
        row.append(fmt.significant(group.images_per_second))
        mark.append("")
        rows.append(row)
        marks.append(mark)
    align = tuple("left" if c in ("network", "framework") else "right" for c in columns)
    return Table(pd.DataFrame(rows, columns=columns, dtype=object), align,  # type: ignore[arg-type]
                 marks=pd.DataFrame(marks, columns=columns, dtype=object), sort="none", id="summary",
                 title="Summary per network and framework")


# ----------------------------------------------------------------------------- sentences


def _accuracy_phrase(view: RunView, found: dict[tuple[str, str], Group], network: str) -> str:
    base = view.networks[0]
    frameworks = [fw for fw in view.frameworks if (network, fw) in found and (base, fw) in found]
    trouble = troubled(view, [found[(name, fw)] for name in (base, network) for fw in frameworks])
    if trouble:
        return f"no accuracy finding, since {trouble}"
    measured = differences(view, found)
    diffs = [(fw, d) for fw in frameworks if (d := measured.get((network, fw))) is not None]
    if not diffs:
        return "no accuracy to compare"
    if all(d.p_value is None and d.half_width is None for _, d in diffs):
        values = ", ".join(f"{d.mean * POINTS:+.2f} {framework}" for framework, d in diffs)
        return f"accuracy {values} (points, n=1)"
    parts = []
    for framework, d in diffs:
        text = f"{d.mean * POINTS:+.2f}" + ("" if d.half_width is None else f" ± {d.half_width * POINTS:.2f}")
        verdict = f"p={d.p_value:.2g}" if d.p_value is not None else f"n={d.n_a}/{d.n_b}"
        parts.append(f"{text} ({framework}, {verdict}{', significant' if d.significant else ''})")
    within = "" if any(d.significant for _, d in diffs) else "within noise: "
    return f"accuracy {within}{', '.join(parts)} points"


def findings(view: RunView, found: dict[tuple[str, str], Group]) -> list[str]:
    """The finding in numbers: one line per variant against the baseline, or one for a lone network."""
    names = labels(view)
    base = view.networks[0]
    if len(view.networks) == 1:
        present = [g for g in found.values() if g.estimate is not None]
        n = seed_count(found)
        accuracy = ", ".join(f"{_accuracy_cell(g, n)} ({g.framework})" for g in present) or "none finished"
        steps = ", ".join(f"{fmt.significant(g.step.median)} ms ({g.framework})" for g in found.values() if g.step)
        trouble = troubled(view, present)
        return [(f"{names[base]}: test accuracy {accuracy}{f' ({trouble})' if trouble else ''}, "
                 f"n={n if n is not None else 'varies'}; "
                 f"median step {steps or 'not measured'}.")]
    lines = []
    for network in view.networks[1:]:
        params = _ratio(_oracle(view, network, "params"), _oracle(view, base, "params"))
        macs = _ratio(_oracle(view, network, "macs"), _oracle(view, base, "macs"))
        steps = [(framework, r) for framework in view.frameworks
                 if (r := step_ratio(view, found, network, framework)) is not None]
        step_text = ("step time " + ", ".join(f"{fmt.ratio(r)} {framework}" for framework, r in steps)
                     if steps else "no step times to compare")
        macs_text = f"{fmt.ratio(macs)} the MACs" if macs is not None else "MACs that depend on the input size"
        lines.append(f"{names[network]} against {names[base]}: {fmt.ratio(params)} the parameters, {macs_text}; "
                     f"{step_text}; {_accuracy_phrase(view, found, network)}.")
    return lines


def problems(view: RunView, found: dict[tuple[str, str], Group]) -> list[str]:
    """Jobs that did not finish ok, and networks that diverged or did not learn in a framework."""
    names = labels(view)
    items = []
    for job in view.jobs:
        if job.status != "ok":
            reason = f": {first_line(job.reason, 100)}" if job.reason else ""
            items.append(f"Not ok: {names[job.network]} · {job.framework} · seed {job.seed} {job.status} after "
                         f"{len(job.history)} of {job.epochs_requested} epochs{reason}")
    measured = [g for g in found.values() if g.outcomes]
    trouble = troubled(view, measured)
    if trouble:
        every = all(g.trouble for g in measured)
        items.append(f"{'No network learned in any framework' if every else 'Training outcome'}: {trouble} (see the "
                     "training outcome above); their accuracy says nothing about the network"
                     + (", so this run has no accuracy finding." if every else "."))
    noisy = [job for job in view.jobs if job.status == "ok" and job.noise_flags]
    if noisy:
        where = "; ".join(f"{names[job.network]} · {job.framework} · seed {job.seed} ({job.noise_flags[0]})" for job in noisy[:4])
        more = f" and {len(noisy) - 4} more" if len(noisy) > 4 else ""
        items.append(f"⚠ noisy timings, not to be trusted: {where}{more}. Re-run them on a quiet machine.")
    return items


def certainty(found: dict[tuple[str, str], Group]) -> str:
    """How certain the numbers are, and what each column means."""
    n = seed_count(found)
    if n == 1:
        accuracy = ("One seed per job (n=1): accuracies carry no uncertainty estimate, so no difference is "
                    "tested or marked; run with `--seeds 0,1,2` for confidence intervals and a test.")
    else:
        accuracy = ("Accuracy: mean ± 95% confidence interval (Student t) over the seeds; differences from the "
                    "baseline: 95% interval and p-value of a paired t-test over matching seeds (Welch's t-test "
                    "otherwise), bold only when p < 0.05.")
    return (f"{accuracy} Step time: median with the 10th–90th percentile of the timed steps (several seeds: the "
            "median of the seeds' medians, lowest p10 to highest p90); images/s: batch size / that median step "
            "time. Parity: the same weights give the same outputs in every framework and the reference (✓) or not (✗).")


OPEN_ROWS = 18
"""The most rows the Summary's network x framework table shows open; a longer one is folded, so that
the Summary stays about 40 lines and the findings above it carry the comparison."""


def summary_blocks(view: RunView) -> tuple[Block, ...]:
    """The Summary section's blocks, in reading order."""
    found = groups(view)
    if not found:
        return (Text("No training jobs are recorded in this run."), networks_table(view)) if view.networks else (
            Text("Nothing was run."),)
    table: Block = frameworks_table(view, found)
    if len(table.frame) > OPEN_ROWS:
        table = Details(f"Every network in every framework: test accuracy, step time, images/s ({len(table.frame)} rows)",
                        (table,))
    far_slower, native_ratios = native_blocks(view)
    blocks: list[Block] = [Bullets(tuple(findings(view, found) + far_slower)), *native_ratios, networks_table(view),
                           *published_blocks(view), table, Text(certainty(found))]
    blocks += spread_blocks(view, {key: group.accuracy for key, group in found.items()})
    trouble = problems(view, found)
    if trouble:
        blocks.append(Bullets(tuple(trouble)))
    return tuple(blocks)


def summary_section(view: RunView) -> Section:
    """The report's first section."""
    return Section("Summary", "summary", (*findings_blocks(view), *summary_blocks(view)))
