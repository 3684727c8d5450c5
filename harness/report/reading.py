"""The report's "Reading this report" section: how numbers are rounded and marked, and how each
figure was measured."""

from __future__ import annotations

from harness.report.document import Block, Bullets, Details, Section
from harness.report.model import DEFAULT_FLAG, FAIL, PASS, RunView


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
    f"{PASS} agrees with the oracle's count, {FAIL} disagrees (the difference in brackets); "
    f"{DEFAULT_FLAG} marks a setting left to the framework's own default.",
    "Regenerate this report from its results.json with `harness report results.json`; "
    "compare two runs with `harness compare OLD NEW`.",
)


def definitions(view: RunView) -> list[str]:
    """How the jobs defined each measured figure, as they recorded it."""
    merged: dict[str, str] = {}
    for job in view.jobs:
        for name, text in job.definitions.items():
            merged.setdefault(name, text)
    return [f"{name}: {merged[name]}" for name in sorted(merged)]


def reading_section(view: RunView) -> Section:
    """How to read the numbers and marks, and how each figure was measured."""
    blocks: list[Block] = [Bullets(READING)]
    measured = definitions(view)
    if measured:
        blocks.append(Details("How each figure was measured", (Bullets(tuple(measured)),)))
    return Section("Reading this report", "reading", tuple(blocks))
