"""The training outcome of every job: learned, did not learn, or diverged.

* **diverged**: the runner stopped it as diverged (:mod:`harness.runner.divergence`), a loss is not
  finite, or an epoch's mean training loss or a test loss is above ``DIVERGED_FACTOR`` x ln(classes),
  the loss of a uniform guess. A network that learns sits below ln(classes) and one that has not yet
  learned sits near it; an epoch whose *mean* loss is five times that predicts confidently and wrongly.
  The runner's own rule watches single steps (10 x for 20 steps); this one reads the recorded epochs,
  so it also judges runs too short for the runner's window (the committed E1 run: 8 steps).
* **did not learn**: the final test accuracy is not significantly above chance (1 / classes) by an
  exact one-sided binomial test at ``ALPHA`` over the test images, or the final test loss is at or
  above ln(classes) (no better than a uniform guess).
* **learned**: neither.
* **unknown**: the job did not finish, or the classes or the test-set size are not recorded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats

from harness.findings.adapter import JobFacts

DIVERGED_FACTOR = 5.0
ALPHA = 0.05
LEARNED = "learned"
NOT_LEARNED = "did not learn"
DIVERGED = "diverged"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Outcome:
    kind: str
    reason: str


def _p_text(p_value: float) -> str:
    """A p-value as text; below double precision's resolution near 1 it reads as a bound, never ``p=0``."""
    return "p<1e-16" if p_value < 1e-16 else f"p={p_value:.2g}"


def outcome(job: JobFacts) -> Outcome:
    """``job``'s training outcome, with the figures that decided it."""
    if job.status == "diverged":
        return Outcome(DIVERGED, "stopped by the runner's divergence rule")
    if job.status != "ok" or job.accuracy is None or not math.isfinite(job.accuracy) or not job.train_losses:
        return Outcome(UNKNOWN, f"the job ended {job.status} without a test accuracy")
    losses = job.train_losses + job.test_losses
    if not all(math.isfinite(loss) for loss in losses):
        return Outcome(DIVERGED, "a loss is not finite")
    if job.classes is None or job.test_size is None:
        return Outcome(UNKNOWN, "the classes or the test-set size are not recorded")
    chance_loss = math.log(job.classes)
    limit = DIVERGED_FACTOR * chance_loss
    for name, series in (("training", job.train_losses), ("test", job.test_losses)):
        worst = max(series, default=0.0)
        if worst > limit:
            return Outcome(DIVERGED, f"{name} loss {worst:.3g} (epoch {series.index(worst) + 1}) > "
                                     f"{DIVERGED_FACTOR:g} x ln({job.classes}) = {limit:.3g}")
    correct = min(max(round(job.accuracy * job.test_size), 0), job.test_size)  # a damaged file may hold any number
    p_value = float(stats.binomtest(correct, job.test_size, 1 / job.classes, alternative="greater").pvalue)
    if p_value >= ALPHA:
        return Outcome(NOT_LEARNED, f"{correct}/{job.test_size} correct, not above chance 1/{job.classes} "
                                    f"(exact binomial {_p_text(p_value)})")
    if job.test_losses and job.test_losses[-1] >= chance_loss:
        return Outcome(NOT_LEARNED, f"test loss {job.test_losses[-1]:.3g} >= ln({job.classes}) = {chance_loss:.3g}")
    return Outcome(LEARNED, f"{correct}/{job.test_size} correct (exact binomial {_p_text(p_value)} against chance)")
