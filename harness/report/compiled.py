"""Eager and compiled mode side by side: steady-state step time, the speed-up, and the compile cost.

One row per (network, framework, seed) that ran in compiled mode. Step times are the steady-state
medians (``step_time`` leaves out the first step at each input shape); the compile cost is the
first compiled step (tracing and compiling at the training batch's shape) and every later first
step at a new shape (a recompilation, e.g. for the last partial batch).
"""

from __future__ import annotations

import pandas as pd

from harness.report import format as fmt
from harness.report.document import Mark, Table
from harness.report.model import RunView, first_line
from harness.results import JobResult

COMPILED_TEXT = (
    "Steady-state median step time in eager and in compiled mode (the first step at each input shape left out), "
    "the speed-up (eager / compiled), the first compiled step (tracing and compiling), every later compilation "
    "at a new input shape, and the eager first step for scale. The options each framework compiled with follow."
)
COLUMNS = ("network", "framework", "seed", "eager step ms", "compiled step ms", "speed-up", "compile s", "recompile s",
           "eager first step s", "accuracy eager / compiled")


def _median(job: JobResult | None) -> float | None:
    return job.step_time.median_ms if job is not None and job.status == "ok" and job.step_time else None


def _compile_cells(job: JobResult) -> tuple[str, str]:
    """The first shape's compile seconds, and the recompilations as ``seconds at shape``."""
    shapes = list(job.compile_seconds.items())
    if not shapes:
        return fmt.significant(job.first_step_seconds), fmt.MISSING
    recompiles = "; ".join(f"{fmt.significant(seconds)} at {shape}" for shape, seconds in shapes[1:])
    return fmt.significant(shapes[0][1]), recompiles or "none"


def _accuracies(eager: JobResult | None, compiled: JobResult) -> str:
    return f"{fmt.accuracy(eager.final_test_accuracy if eager else None)} / {fmt.accuracy(compiled.final_test_accuracy)}"


def compiled_table(view: RunView) -> Table | None:
    """The eager/compiled comparison, or None when no job ran in compiled mode."""
    rows: list[list[str]] = []
    marks: list[list[Mark]] = []
    for compiled in (job for job in view.jobs if job.mode == "compiled"):
        eager = next((job for job in view.jobs if job.mode == "eager" and (job.network, job.framework, job.seed)
                      == (compiled.network, compiled.framework, compiled.seed)), None)
        identity = [compiled.network, compiled.framework, str(compiled.seed)]
        if compiled.status != "ok":
            failure = f"{compiled.status}: {first_line(compiled.reason or '')}"
            rows.append([*identity, fmt.significant(_median(eager)), failure, *[fmt.MISSING] * 5])
            marks.append(["", "", "", "", "fail", *[""] * 5])
            continue
        eager_ms, compiled_ms = _median(eager), _median(compiled)
        speed_up = eager_ms / compiled_ms if eager_ms and compiled_ms else None
        compile_s, recompile_s = _compile_cells(compiled)
        rows.append([*identity, fmt.significant(eager_ms), fmt.significant(compiled_ms), fmt.ratio(speed_up), compile_s,
                     recompile_s, fmt.significant(eager.first_step_seconds if eager else None), _accuracies(eager, compiled)])
        marks.append(["", "", "", "", "", "best" if speed_up and speed_up > 1 else "", "", "", "", ""])
    if not rows:
        return None
    align = ("left", "left", "right", "right", "right", "right", "right", "left", "right", "right")
    return Table(pd.DataFrame(rows, columns=list(COLUMNS), dtype=object), align,
                 marks=pd.DataFrame(marks, columns=list(COLUMNS), dtype=object), id="compiled")


def compile_options(view: RunView) -> list[str]:
    """Per framework, the compile options its compiled job recorded (its ``compile`` settings group)."""
    lines = {}
    for job in view.jobs:
        group = job.effective_settings.get("compile") if job.mode == "compiled" else None
        if group and job.framework not in lines:
            options = ", ".join(f"{name}={fmt.plain(setting.value)}" for name, setting in group.items())
            lines[job.framework] = f"{job.framework}: {options}"
    return list(lines.values())
