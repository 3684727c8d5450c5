"""The typed boundary between the harness process and its worker subprocesses.

Every task a worker runs has a request model and a result model here, all ``extra="forbid"``:
a misspelt or unknown field is an error on either side, never silently dropped. A request
carries the fully resolved network (the spec with its variant merged and every command-line
override applied, once, in the parent), so a worker parses no YAML and has one source of truth
for every setting. Defaults are declared once, on these models.

The worker answers with a :class:`Reply`: ``ok`` with the task's result, or why it failed.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, PositiveFloat, PositiveInt, TypeAdapter, model_validator

from harness.framework import Mode
from harness.results import FrameworkCount, TrainMeasurements
from harness.spec.network import Network, expand, with_train
from harness.spec.schema import InitFile, Spec

Device = Literal["cpu", "cuda"]
Init = Union[Literal["framework", "shared"], InitFile]


class Message(BaseModel):
    """Base of every request and result: unknown fields are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, ser_json_inf_nan="constants")


class ResolvedNetwork(Message):
    """A network as the parent resolved it; ``path`` only labels where the spec came from."""

    spec: Spec
    variant: str | None = None
    path: str = ""

    @classmethod
    def of(cls, network: Network) -> ResolvedNetwork:
        return cls(spec=network.spec, variant=network.variant, path=network.path)

    def network(self) -> Network:
        """The expanded network (no file is read)."""
        return expand(self.spec, self.variant, self.path)


class Moded(Message):
    """The mode a worker runs its framework in; declared once for :class:`Target` and :class:`TrainConfig`."""

    mode: Mode = Field(default="eager", description="eager, or compiled (the plugin's Framework.compiled_mode).")


class TrainConfig(Moded):
    """The settings of one training job; stored in its result so ``--resume`` can tell whether a
    result on disk was measured with the same settings."""

    framework: str
    spec: str = Field(description="The spec file (a label: the worker receives the resolved network).")
    variant: str | None = None
    spec_digest: str = Field(default="", description="sha256 of the network's validated spec (variant merged).")
    seed: NonNegativeInt
    epochs: PositiveInt
    batch_size: PositiveInt
    dataset: str | None = Field(default=None, description="A data set standing in for the spec's (--dataset).")
    data_dir: str | None = None
    limit_train: PositiveInt | None = None
    limit_test: PositiveInt | None = None
    init: Init = "framework"
    device: Device = "cpu"
    threads: PositiveInt = 1
    warmup_steps: NonNegativeInt = Field(default=5, description="Steps left out of the step-time statistics.")
    latency_repeats: PositiveInt = Field(default=30, description="Most inference calls timed per batch size.")
    latency_budget_s: PositiveFloat = Field(default=2.0, description="Most seconds spent timing one batch size.")
    save_weights: str | None = Field(default=None, description="Where to write the trained weights as a neutral "
                                     "weight file (harness run --save-weights), or None.")

    def comparable(self) -> dict[str, Any]:
        """The settings that must match for a stored result to stand for this job."""
        return self.model_dump(exclude={"spec", "data_dir"})


class Target(Moded):
    """Which framework a worker instantiates, on which device, with how many threads, which seed and mode."""

    framework: str
    device: Device = "cpu"
    threads: PositiveInt = 1
    seed: NonNegativeInt = 0


# ----------------------------------------------------------------------------- results


class InfoResult(Message):
    """Devices and thread settings as the framework sees them, and the native thread pools."""

    devices: list[str]
    thread_settings: dict[str, Any]
    threads: dict[str, Any]


class NetworkCount(FrameworkCount, Message):
    """One network's parameter counts in one framework, or why it failed to build (the counts
    themselves are declared once, in :class:`harness.results.FrameworkCount`)."""

    model_config = Message.model_config

    spec: str
    variant: str | None = None
    status: Literal["ok", "failed"]
    traceback: str | None = None


class ParamsResult(Message):
    networks: list[NetworkCount]
    thread_settings: dict[str, Any]


class ParityResult(Message):
    round_trip_max_abs: float = Field(description="Largest difference between the weights loaded and those exported back.")
    logits_from: str = Field(default="layer_outputs", description="Which call gave the logits saved with the layer outputs.")
    compiled_vs_eager_max_abs: float | None = Field(
        default=None, description="Compiled mode: largest difference between the compiled predict's logits and the eager ones.")


class TrainResult(TrainMeasurements, Message):
    """What a training worker sends back: :class:`harness.results.TrainMeasurements`, declared once
    there and kept in the job's result; here only what a finished worker must have measured."""

    model_config = Message.model_config
    always: ClassVar[tuple[str, ...]] = ("build_seconds", "startup_seconds", "data_seconds", "data", "params", "environment",
                                         "noise", "gemm_gflops")
    """The measurements every worker that trained takes (optional in a job's result: a failed job has none)."""

    @model_validator(mode="after")
    def _finished(self) -> TrainResult:
        if self.status not in ("ok", "diverged"):
            raise ValueError(f"a worker's training ends ok or diverged, not {self.status}")
        missing = [name for name in self.always if getattr(self, name) is None]
        if missing:
            raise ValueError(f"the worker measured no {', '.join(missing)}")
        return self


class StepRecord(Message):
    """One training step as a framework ran it."""

    loss: float
    batch: str = Field(description="A digest of the batch's images and labels (the same batches in the same order everywhere).")
    change_norm: dict[str, float] = Field(description="layer/tensor -> L2 norm of (weights after this step - initial "
                                             "weights).")


class TrainParityResult(Message):
    """What a training-parity worker sends back (the final weights are in the request's ``output`` file)."""

    steps: list[StepRecord]
    conventions: dict[str, str] = Field(description="The framework's declared departures that apply to this network.")


# ----------------------------------------------------------------------------- requests


class TargetedRequest(Target):
    """A request whose target fields sit at its top level.

    ``isolated``: the request needs a fresh worker of its own (timed training, a process-wide
    switch such as float64); other requests may share a warm worker of their framework.
    ``input_files`` and ``output_files`` name the fields holding paths the worker reads and writes
    (an executor on other machines ships those files there and back). ``quick_compile``: nothing
    the worker computes is kept but shapes, so compilers may skip their optimisations.
    """

    isolated: ClassVar[bool] = False
    quick_compile: ClassVar[bool] = False
    input_files: ClassVar[tuple[str, ...]] = ()
    output_files: ClassVar[tuple[str, ...]] = ()

    def target(self) -> Target:
        return Target(framework=self.framework, device=self.device, threads=self.threads, seed=self.seed, mode=self.mode)


class InfoRequest(TargetedRequest):
    task: Literal["info"] = "info"
    result_type: ClassVar[type[Message]] = InfoResult


class ParamsRequest(TargetedRequest):
    """Build every network in turn and count its parameters; one failing network does not stop the others."""

    task: Literal["params"] = "params"
    networks: list[ResolvedNetwork]
    result_type: ClassVar[type[Message]] = ParamsResult
    quick_compile: ClassVar[bool] = True


class ParityRequest(TargetedRequest):
    """Load neutral weights, run fixed batches, save every layer's output (paths in the parent's temporary folder)."""

    task: Literal["parity"] = "parity"
    network: ResolvedNetwork
    weights: str = Field(description=".npz of neutral weights.")
    inputs: list[str] = Field(description=".npy batches (NHWC float32).")
    outputs: list[str] = Field(description=".npz files to write, one per batch.")
    result_type: ClassVar[type[Message]] = ParityResult
    input_files: ClassVar[tuple[str, ...]] = ("weights", "inputs")
    output_files: ClassVar[tuple[str, ...]] = ("outputs",)


class TrainParityRequest(TargetedRequest):
    """N training steps from given neutral weights on given batches (dropout off: the worker applies
    :func:`harness.runner.train_parity.without_dropout` to the resolved network)."""

    task: Literal["train_parity"] = "train_parity"
    network: ResolvedNetwork
    weights: str = Field(description=".npz of the neutral weights to start from.")
    batches: str = Field(description=".npz with images0, labels0, images1... (NHWC float32, int64).")
    steps: PositiveInt
    output: str = Field(description=".npz to write the weights after the last step to.")
    dtype: Literal["float32", "float64"] = Field("float32", description="float64: the framework computes in float64 "
                                                 "(Framework.use_float64), training parity's exact check.")
    result_type: ClassVar[type[Message]] = TrainParityResult
    isolated: ClassVar[bool] = True
    input_files: ClassVar[tuple[str, ...]] = ("weights", "batches")
    output_files: ClassVar[tuple[str, ...]] = ("output",)


class TrainRequest(Message):
    """Train one job; ``network.spec.train`` already holds the job's batch size, epochs, seed and init."""

    task: Literal["train"] = "train"
    config: TrainConfig
    network: ResolvedNetwork
    result_type: ClassVar[type[Message]] = TrainResult
    isolated: ClassVar[bool] = True
    input_files: ClassVar[tuple[str, ...]] = ()
    output_files: ClassVar[tuple[str, ...]] = ()
    quick_compile: ClassVar[bool] = False

    @model_validator(mode="after")
    def _one_source_of_truth(self) -> TrainRequest:
        train, config = self.network.spec.train, self.config
        resolved = {"batch_size": train.batch_size, "epochs": train.epochs, "seed": train.seed, "init": train.init}
        wanted = {"batch_size": config.batch_size, "epochs": config.epochs, "seed": config.seed, "init": config.init}
        if resolved != wanted:
            raise ValueError(f"the network's train settings {resolved} differ from the job's {wanted}; resolve them once, in the parent")
        return self

    def target(self) -> Target:
        config = self.config
        return Target(framework=config.framework, device=config.device, threads=config.threads, seed=config.seed,
                      mode=config.mode)


Request = Annotated[Union[InfoRequest, ParamsRequest, ParityRequest, TrainRequest, TrainParityRequest],
                    Field(discriminator="task")]
REQUEST = TypeAdapter(Request)
"""Validates a request read by the worker (the ``task`` field picks the model)."""


class Reply(Message):
    """What a worker writes: its task's result, or why there is none."""

    status: Literal["ok", "failed", "oom"]
    result: dict[str, Any] | None = None
    error: str | None = None
    traceback: str | None = None


def resolve_train(network: Network, config: TrainConfig) -> ResolvedNetwork:
    """``network`` with the job's batch size, epochs, seed and init applied to its ``train``."""
    return ResolvedNetwork.of(with_train(network, batch_size=config.batch_size, epochs=config.epochs, seed=config.seed,
                                         init=config.init))
