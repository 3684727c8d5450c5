"""The typed interface every framework plugin implements (the class it registers).

A plugin registers a subclass of :class:`Framework` through the ``harness_register_frameworks``
hook (see :mod:`harness.hookspecs`). The class-level methods run in the harness's own process and
must not import the framework; everything else runs inside a worker subprocess, after the harness
has set the thread limits, and may import it freely.

Data crosses the boundary as numpy arrays in the neutral layout: images ``NHWC`` float32, labels
int64, logits ``(N, classes)`` float32, feature maps channels-last. Weights use the neutral layout
of :mod:`harness.neutral.weights` (Keras' layout: conv kernels ``HWIO``, dense kernels ``(in, out)`` with
the rows of a dense after a flatten in channels-last order).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from harness.spec import Network
from harness.spec.schema import InitFile, Train

if TYPE_CHECKING:  # only in annotations: `harness check` reads results without numpy
    import numpy as np

Mode = Literal["eager", "compiled"]
"""How a framework runs the network: op by op, or through its compiler (:attr:`Framework.compiled_mode`)."""
MODES: tuple[Mode, ...] = ("eager", "compiled")


class ModeError(ValueError):
    """A mode the framework cannot run."""


NeutralWeights = dict[str, dict[str, "np.ndarray"]]
"""Layer name -> tensor name (``kernel``, ``bias``, ``gamma``, ...) -> array in neutral layout."""


@dataclass(frozen=True)
class ParamCount:
    """Parameters of one neutral layer as a framework holds them, normalised."""

    trainable: int
    non_trainable: int

    @property
    def total(self) -> int:
        return self.trainable + self.non_trainable


@dataclass(frozen=True)
class Setting:
    """One hyperparameter as the framework resolved it.

    ``neutral`` is the spec's value in the neutral convention, ``value`` the value the framework
    holds in its own convention (read back from it where it can be), ``convention`` how ``value``
    follows from ``neutral`` (``same``; ``one_minus``, e.g. PyTorch's BN momentum; ``not_applicable``
    for a term the framework does not have), and ``default`` is True when the framework's own
    default was used because the spec had nothing to say. The conformance kit checks that every
    batch-norm and optimizer ``value`` is what ``neutral`` implies (:meth:`implied`).
    """

    value: Any
    neutral: Any = None
    default: bool = False
    note: str = ""
    convention: Literal["same", "one_minus", "not_applicable"] = "same"

    def implied(self) -> Any:
        """The value ``neutral`` implies in the framework's convention (None: nothing to check)."""
        if self.convention == "not_applicable" or self.neutral is None:
            return None
        return 1.0 - self.neutral if self.convention == "one_minus" else self.neutral


SHARED_INIT = "neutral weights (harness.neutral.weights)"
"""The value of every ``<tensor>_initializer`` setting when ``train.init`` is ``shared``."""


def initializer_setting(init: str | InitFile, framework_default: str, note: str) -> Setting:
    """The ``<tensor>_initializer`` setting of a layer: the neutral weights with ``init: shared``,
    the weight file (over ``others``) with ``init: {weights: ...}``, else the framework's own
    default (``note`` says whose)."""
    if isinstance(init, InitFile):
        rest = SHARED_INIT if init.others == "shared" else f"{framework_default} ({note})"
        return Setting(f"weight file {PurePath(init.weights).name} where it holds the layer, else {rest}",
                       neutral="weights", note="the job's weight_sources lists each layer's source")
    if init == "shared":
        return Setting(SHARED_INIT, neutral="shared", note="loaded before training, the same in every framework")
    return Setting(framework_default, neutral="framework", default=True, note=note)


@dataclass
class EffectiveSettings:
    """Every hyperparameter a plugin resolved, grouped (``optimizer``, ``loss``, a layer name...)."""

    groups: dict[str, dict[str, Setting]] = field(default_factory=dict)

    def add(self, group: str, name: str, setting: Setting) -> None:
        self.groups.setdefault(group, {})[name] = setting

    def as_dict(self) -> dict[str, dict[str, dict[str, Any]]]:
        return {
            group: {name: vars(setting).copy() for name, setting in items.items()}
            for group, items in self.groups.items()
        }


@dataclass(frozen=True)
class TrainingConventions:
    """Where a framework's training update knowingly departs from the neutral rules (Keras') and no
    argument of the framework can remove the departure. The numpy training reference
    (:mod:`harness.equivalence.reference_train`) can follow each of them, so that training parity compares a
    framework with the update it claims to make and states how large each departure's effect is.

    * ``adam_epsilon``: ``before_correction`` (neutral: ``lr_t * m / (sqrt(v) + eps)``) or
      ``after_correction`` (``lr / (1 - b1^t) * m / (sqrt(v / (1 - b2^t)) + eps)``; PyTorch, Paddle).
    * ``rmsprop_epsilon``: ``inside_sqrt`` (neutral: ``g / sqrt(v + eps)``) or ``outside_sqrt``
      (``g / (sqrt(v) + eps)``; PyTorch).
    * ``bn_moving_variance``: ``biased`` (neutral: the batch variance over n) or ``unbiased``
      (over n - 1; PyTorch).
    """

    adam_epsilon: Literal["before_correction", "after_correction"] = "before_correction"
    rmsprop_epsilon: Literal["inside_sqrt", "outside_sqrt"] = "inside_sqrt"
    bn_moving_variance: Literal["biased", "unbiased"] = "biased"

    def departures(self) -> dict[str, str]:
        """The conventions that differ from the neutral ones, by name."""
        neutral = TrainingConventions()
        return {name: value for name, value in vars(self).items() if value != getattr(neutral, name)}


NEUTRAL_CONVENTIONS = TrainingConventions()


@dataclass(frozen=True)
class StepResult:
    """What one training step reports back (loss as a Python float forces completion)."""

    loss: float
    correct: int


class Framework(ABC):
    """One deep-learning framework as the harness drives it.

    Subclasses set the class variables and implement the abstract methods. An instance lives in
    one worker subprocess for one job.
    """

    name: ClassVar[str]
    """Short unique name used on the command line (``--framework torch``)."""
    display_name: ClassVar[str]
    """Name shown in tables and reports (``PyTorch``)."""
    module: ClassVar[str]
    """The framework's import name, checked (not imported) for availability."""
    distribution: ClassVar[str]
    """The framework's distribution on the package index, for its version."""
    install_hint: ClassVar[str]
    """The command that installs this plugin and its framework."""
    compiled_mode: ClassVar[str | None] = None
    """How the plugin runs ``mode="compiled"`` (e.g. ``torch.compile, inductor backend``), or None
    when it offers no compiled mode (a compiled job then fails with :class:`ModeError`)."""
    eager_compiled_by: ClassVar[str | None] = None
    """What already compiles this framework's eager step (e.g. ``jax.jit``), or None; said where a
    run over every framework leaves out the compiled job of a framework without a compiled mode."""
    training_conventions: ClassVar[TrainingConventions] = NEUTRAL_CONVENTIONS
    """Departures of the training update from the neutral rules that no framework argument removes
    (declared, then checked against the numpy reference by the conformance kit)."""
    float64_unavailable: ClassVar[str | None] = "its plugin implements no Framework.use_float64"
    """Why this framework cannot train in float64, or None when :meth:`use_float64` works. Training
    parity proves each framework's update in float64, where rounding can neither hide a difference
    nor fake one; a framework without it is checked in float32 alone, on the steps float32
    rounding leaves predictable, and the output says so."""

    # ----------------------------------------------------------------- harness process, no import

    @classmethod
    def version(cls) -> str | None:
        """The installed framework's version, read from package metadata (no import)."""
        try:
            return importlib.metadata.version(cls.distribution)
        except importlib.metadata.PackageNotFoundError:
            return None

    @classmethod
    def unavailable_reason(cls) -> str | None:
        """Why the framework cannot be used here, or None. Must not import the framework."""
        if importlib.util.find_spec(cls.module) is None:
            return f"the module '{cls.module}' is not installed; install it with: {cls.install_hint}"
        return None

    @classmethod
    def check_mode(cls, mode: str) -> None:
        """Raise :class:`ModeError` when this framework cannot run ``mode`` (no import)."""
        if mode not in MODES:
            raise ModeError(f"unknown mode '{mode}'; use one of {', '.join(MODES)}.")
        if mode == "compiled" and cls.compiled_mode is None:
            raise ModeError(f"the {cls.name} plugin offers no compiled mode (its Framework class sets no compiled_mode); "
                            "run it with --mode eager.")

    # ----------------------------------------------------------------- worker process

    def __init__(self, device: str = "cpu", threads: int = 1, seed: int = 0, mode: Mode = "eager") -> None:
        """Import the framework and apply the device, thread count and seeds (determinism on).

        ``mode="compiled"``: :meth:`train_step` and :meth:`predict` run the framework's compiled
        form (:attr:`compiled_mode`); :meth:`layer_outputs` may stay eager. Raises
        :class:`ModeError` when the plugin offers no compiled mode.
        """
        self.check_mode(mode)
        self.device = device
        self.threads = threads
        self.seed = seed
        self.mode = mode

    def use_float64(self) -> None:
        """Compute in float64 from now on (called before :meth:`build`, for training parity only):
        weights, activations, gradients and optimizer state. Batches still arrive as float32 arrays
        and are widened; :meth:`export_weights` returns float64 arrays. Set
        :attr:`float64_unavailable` to None when implemented."""
        raise NotImplementedError(f"{self.name} cannot train in float64: {self.float64_unavailable}")

    @abstractmethod
    def devices(self) -> list[str]:
        """Devices this framework can use here: ``cpu`` and, where present, ``cuda``."""

    @abstractmethod
    def thread_settings(self) -> dict[str, Any]:
        """The framework's own thread settings as it reports them (intra-op, inter-op...).

        Read them back from the framework, do not echo the request. Every integer in the mapping
        (nested mappings included) is taken as a thread count and must equal ``self.threads``
        (the conformance kit checks this); report anything that is not a thread count as a
        string or a boolean.
        """

    @abstractmethod
    def build(self, network: Network) -> Any:
        """Build ``network`` as a model of this framework, on ``self.device``."""

    def build_structure(self, network: Network) -> Any:
        """Build ``network`` to read its structure only, with :meth:`count_params` and
        :meth:`effective_settings` (``harness params``): never run, trained or given weights.

        By default the real :meth:`build`. A framework whose initialisers are costly (JAX compiles
        them) may build it without values; the conformance kit checks that its counts and settings
        are the real build's.
        """
        return self.build(network)

    @abstractmethod
    def count_params(self, model: Any) -> dict[str, ParamCount]:
        """Parameters per neutral layer name, normalised: BN moving statistics non-trainable,
        counters such as PyTorch's ``num_batches_tracked`` not counted."""

    @abstractmethod
    def effective_settings(self, model: Any, network: Network) -> EffectiveSettings:
        """Every hyperparameter as resolved in this framework (layers and optimizer).

        Groups are named after the neutral layer (``batch_norm_1``...) for layer settings and
        ``optimizer`` for the spec's optimizer. The conformance kit checks that every batch norm
        has ``momentum`` and ``epsilon`` settings whose ``neutral`` is the spec's value, and that
        every hyperparameter of ``network.spec.train.optimizer`` appears as the ``neutral`` value
        of a non-default setting in ``optimizer``.

        Every tensor a layer initialises has a ``<tensor>_initializer`` setting
        (:func:`initializer_setting`): with ``network.spec.train.init == "shared"`` it names the
        neutral weights, else the framework's default. The kit checks both.
        """

    @abstractmethod
    def prepare_training(self, model: Any, train: Train) -> Any:
        """Create the optimizer and loss the spec names; return a trainer for :meth:`train_step`."""

    @abstractmethod
    def train_step(self, trainer: Any, images: np.ndarray, labels: np.ndarray) -> StepResult:
        """One optimisation step on one batch (NHWC float32, int64 labels), in training mode."""

    @abstractmethod
    def predict(self, model: Any, images: np.ndarray) -> np.ndarray:
        """Logits for a batch, in inference mode (dropout off, BN on moving statistics)."""

    @abstractmethod
    def load_weights(self, model: Any, weights: NeutralWeights) -> None:
        """Set the model's weights from the neutral layout (all layers, exactly)."""

    @abstractmethod
    def export_weights(self, model: Any) -> NeutralWeights:
        """The model's weights in the neutral layout."""

    @abstractmethod
    def layer_outputs(self, model: Any, images: np.ndarray) -> Mapping[str, np.ndarray]:
        """Every neutral layer's output in inference mode, channels-last, keyed by layer name,
        in the network's execution order (:meth:`harness.spec.Network.walk`)."""

    def synchronize(self) -> None:
        """Wait for queued device work (for timing on GPUs); nothing to do on CPU."""
