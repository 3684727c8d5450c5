"""When a training run has diverged: one rule for every framework, on the loss alone.

Frameworks fail differently when training blows up: most produce a NaN or infinite loss, but a
cross-entropy that clips its probabilities (Paddle's) saturates at a large finite value instead
and never becomes NaN. So two rules, applied to every framework's step losses alike:

* ``non_finite``: a step's loss is NaN or infinite.
* ``above_chance``: the loss stays above ``FACTOR`` x ln(classes) (the loss of a uniform guess)
  for ``WINDOW`` consecutive steps, or for a whole epoch when an epoch has fewer steps (but at
  least ``MIN_WINDOW``). A network that learns anything sits below ln(classes); one whose loss
  stays ten times above it is predicting confidently and wrongly, batch after batch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

FACTOR = 10.0
"""How many times the chance-level loss ln(classes) a loss must exceed to count as far above it."""
WINDOW = 20
"""Consecutive steps the loss must stay far above chance level."""
MIN_WINDOW = 3
"""The shortest window, for epochs of very few steps."""
NON_FINITE = "non_finite"
ABOVE_CHANCE = "above_chance"


def window_for(steps_per_epoch: int) -> int:
    """``WINDOW`` steps, or one epoch's steps when that is fewer (at least ``MIN_WINDOW``)."""
    return max(MIN_WINDOW, min(WINDOW, steps_per_epoch))


@dataclass(frozen=True)
class Divergence:
    """Which rule fired, and a sentence that says so."""

    rule: str
    reason: str


@dataclass
class DivergenceWatch:
    """Feed it every step's loss; it says when (and by which rule) the run has diverged."""

    classes: int
    factor: float = FACTOR
    window: int = WINDOW
    streak: int = field(default=0, init=False)

    @property
    def threshold(self) -> float:
        """The loss above which a step counts towards ``above_chance``."""
        return self.factor * math.log(max(self.classes, 2))

    def update(self, loss: float) -> Divergence | None:
        """The divergence this step's ``loss`` completes, or None while training looks sane."""
        if not math.isfinite(loss):
            return Divergence(NON_FINITE, f"the training loss became {loss} (rule {NON_FINITE}: a loss that is not finite)")
        self.streak = self.streak + 1 if loss > self.threshold else 0
        if self.streak >= self.window:
            return Divergence(
                ABOVE_CHANCE,
                f"the training loss stayed above {self.threshold:.3g} ({self.factor:g} x ln({self.classes}), the loss of a "
                f"uniform guess) for {self.window} consecutive steps, last {loss:.4g} (rule {ABOVE_CHANCE})",
            )
        return None
