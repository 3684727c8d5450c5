"""The Summary's published figures and notes (each spec's ``expect.reference``, recorded in the
results' network checks) beside what this run measured: the authors' time per sample, top-2 or
validation accuracy and their notes ("not converged in 10 epochs", "45% slower"), next to each
framework's test accuracy and time per sample here. The published test accuracy itself is in the
Summary's networks table, with why it is not comparable when it is not."""

from __future__ import annotations

import pandas as pd

from harness.report import format as fmt
from harness.report import stats
from harness.report.document import Block, Details, Table, Text
from harness.report.model import RunView, labels
from harness.spec.schema import Reference

US_PER_MS = 1000.0


def published_text(reference: Reference) -> str:
    """The published figures other than the test accuracy, then the note; empty when there are none."""
    parts = []
    if reference.us_per_sample is not None:
        parts.append(f"{fmt.significant(reference.us_per_sample)} µs per sample (training)")
    if reference.top2_accuracy is not None:
        parts.append(f"top-2 accuracy {fmt.accuracy(reference.top2_accuracy)}")
    if reference.val_accuracy is not None:
        parts.append(f"validation accuracy {fmt.accuracy(reference.val_accuracy)}")
    if reference.note:
        parts.append(" ".join(reference.note.split()))
    return "; ".join(parts)


def measured_text(view: RunView, network: str) -> str:
    """How many epochs this run trained, then per framework its mean test accuracy over the seeds and
    its training time per sample (the median step over the batch size), from the jobs that finished ok."""
    parts = []
    for framework in view.frameworks:
        ok = [job for job in view.jobs_of(network) if job.framework == framework and job.status == "ok"]
        if not ok:
            continue
        accuracy = stats.estimate([job.final_test_accuracy for job in ok if job.final_test_accuracy is not None])
        step = stats.timing_spread([job.step_time for job in ok if job.step_time is not None])
        figures = [f"{fmt.accuracy(accuracy.mean)} (n={accuracy.n})" if accuracy else "no accuracy"]
        if step is not None and ok[0].batch_size:
            figures.append(f"{fmt.significant(step.median * US_PER_MS / ok[0].batch_size)} µs per sample")
        parts.append(f"{framework}: {', '.join(figures)}")
    epochs = sorted({len(job.history) for job in view.jobs_of(network) if job.status == "ok"})
    trained = f"after {'-'.join(str(e) for e in epochs[::max(len(epochs) - 1, 1)])} epochs: " if epochs else ""
    return trained + "; ".join(parts) if parts else "nothing finished"


def published_blocks(view: RunView) -> tuple[Block, ...]:
    """A table of the networks whose source published more than a test accuracy, or nothing."""
    names = labels(view)
    rows = []
    for network in view.networks:
        reference = view.check(network).reference
        text = published_text(reference) if reference else ""
        if text:
            rows.append([names[network], text, measured_text(view, network), reference.source or fmt.MISSING])
    if not rows:
        return ()
    columns = ["network", "published", "this run: test accuracy, training time per sample", "source"]
    table = Table(pd.DataFrame(rows, columns=columns, dtype=object), ("left",) * len(columns),  # type: ignore[arg-type]
                  sort="none", id="summary-published", title="Published figures and notes beside this run")
    return (table, Details("How to read the published figures", (Text(
        "Published figures are the authors' own, on their hardware and their data: times per sample compare "
        "only as ratios between networks (the findings above judge those), and a shortened or substituted "
        "run's accuracies are not comparable with them."),)))
