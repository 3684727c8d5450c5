"""The results schema (one file per job, one file per run) and atomic JSON writes.

Every job's result is written as soon as the job ends, by writing a temporary file beside the
target and renaming it over the target, so a crash or Ctrl-C never leaves a half-written file.
``SCHEMA_VERSION`` is stored in every file (as asv does), so later harness versions can refuse or
convert files they do not understand.

Since schema 2 a run's raw timing samples live beside its ``results.json`` in ``samples.json.gz``
(deterministic gzip), so the results file stays small enough to review; schema 1 files, with the
samples inline, are still read. Per-job files keep their samples inline. Since schema 3 the per-layer
and per-setting detail (each job's ``effective_settings``, ``layer_params`` and ``definitions``, each
network's oracle ``layers``) lives in ``details.json.gz`` beside the results (and beside each job's file),
and both JSON files are written one field to a line (a job's own file holds only which job it was
and its outcome; what it measured is in its details file), so a run's committed text stays within the
review budgets whatever the network (:mod:`harness.budgets`); files of schemas 1 and 2, with the detail
inline, are still read. The per-framework
parameter counts and settings (``framework_params``) are left out of the file when the jobs hold
them, and derived from the jobs on reading.

Each result is described once, here, and shared by the worker, the files and the report: a job's
:class:`JobResult` is what the parent knows of it (:class:`JobRecord`) with what its worker measured
(:class:`TrainMeasurements`, which the worker sends as ``harness.runner.protocol.TrainResult``); a
network's :class:`NetworkCheck` is what ``harness check --json`` prints (``harness.neutral.oracle.as_json``).
"""

from __future__ import annotations

import gzip
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    NonNegativeInt,
    TypeAdapter,
    ValidationError,
    field_serializer,
    model_validator,
)

from harness import limits
from harness.framework import Setting
from harness.spec.schema import Finding, Reference

SCHEMA_VERSION = 3
SAMPLES_FILE = "samples.json.gz"
DETAILS_FILE = "details.json.gz"
DETAIL_SUFFIX = ".details.json.gz"
"""A job file's own details file: ``jobs/<job>.json`` -> ``jobs/<job>.details.json.gz``."""
JOB_DETAIL_FIELDS = ("effective_settings", "layer_params", "definitions")
"""The :class:`JobResult` fields that move to the details file: per layer and per setting, large for a deep network."""
NETWORK_DETAIL_FIELDS = ("layers",)
"""The :class:`NetworkCheck` fields that move to the details file (the oracle's layer table)."""
LINE_DEPTH = 3
"""Results files open their objects and lists this many levels deep; anything deeper takes one line."""
SAMPLES_LIMIT = 256 * 1024 * 1024
"""The most bytes a samples file may decompress to (a run holds a few MB; more is a damaged or hostile file)."""
TIMED_FIELDS = ("step_time", "latency_batch_1", "latency_batch")
"""The :class:`JobResult` fields whose raw samples move to the samples file."""
Samples = dict[str, dict[str, dict[str, dict[str, list[float]]]]]
"""Network -> framework -> seed -> timed field -> samples in milliseconds."""
SAMPLES = TypeAdapter(Samples)
TEMPORARY_PREFIX_CHARS = 40
"""How much of the target's name a temporary file of :func:`write_json_atomic` repeats."""

Status = Literal["ok", "diverged", "failed", "timeout", "oom", "interrupted", "skipped"]


class Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


def _not_negative(value: float) -> float:
    if value < 0:
        raise ValueError(f"a time, size or rate cannot be negative ({value})")
    return value


NonNegative = Annotated[float, AfterValidator(_not_negative)]
"""A measured time, size or rate: never negative (NaN, for a figure that could not be measured, passes)."""
ORDER_TOLERANCE = 1e-9


class LayerParams(Model):
    """One layer's parameters as a framework counts them (a layer it does not have: none)."""

    trainable: NonNegativeInt = 0
    non_trainable: NonNegativeInt = 0


class Params(Model):
    """A whole network's (or backbone's) parameters."""

    trainable: NonNegativeInt
    non_trainable: NonNegativeInt
    total: NonNegativeInt


Settings = dict[str, dict[str, Setting]]
"""Every hyperparameter a framework resolved: group (``optimizer``, a layer name...) -> name -> setting
(:class:`harness.framework.Setting`, as ``EffectiveSettings.as_dict()`` gives it)."""


class Timing(Model):
    """Summary of repeated timings in milliseconds, with the raw samples kept for statistics."""

    median_ms: NonNegative
    p10_ms: NonNegative
    p90_ms: NonNegative
    count: NonNegativeInt
    samples_ms: list[NonNegative] = Field(default_factory=list)
    rounds_ms: list[NonNegative] = Field(
        default_factory=list,
        description="Median of each round: the samples split into consecutive blocks far apart in time. Tests of "
                    "significance use these (and seeds), never the raw, strongly correlated consecutive samples.",
    )

    @model_validator(mode="after")
    def _ordered(self) -> Timing:
        slack = ORDER_TOLERANCE * max(abs(self.p90_ms), 1.0)
        if not (self.p10_ms <= self.median_ms + slack and self.median_ms <= self.p90_ms + slack):
            raise ValueError(f"p10 <= median <= p90 must hold, but they are {self.p10_ms}, {self.median_ms}, {self.p90_ms}")
        return self


class Epoch(Model):
    epoch: NonNegativeInt
    train_loss: float
    train_accuracy: float
    test_loss: float | None = None
    test_accuracy: float | None = None
    seconds: NonNegative = Field(description="Training time of the epoch (batches and steps, no evaluation).")
    steps: NonNegativeInt | None = None
    eval_seconds: NonNegative | None = Field(default=None, description="Time to score the test split.")


class DataInfo(Model):
    """Which data the job trained on, and how it was brought to the network's input."""

    name: str
    requested: str | None = Field(default=None, description="The spec's data set when another stood in.")
    source: str = Field(default="", description="Where the files were found.")
    checksum: str = Field(default="", description="sha256 over the files as read.")
    train_size: NonNegativeInt = 0
    test_size: NonNegativeInt = 0
    full_train_size: NonNegativeInt | None = Field(default=None, description="Training images before --limit-train.")
    full_test_size: NonNegativeInt | None = Field(default=None, description="Test images before --limit-test.")
    image_shape: list[int | None] = Field(default_factory=list, description="Shape before fitting.")
    fitted_to: list[int | None] = Field(default_factory=list, description="The network's input shape.")
    fit: str = ""
    notes: list[str] = Field(default_factory=list)


class Noise(Model):
    """How quiet the machine was while a job was timed (see harness.runner.noise)."""

    load_before: list[float] = Field(default_factory=list, description="1, 5 and 15-minute load averages before the timed steps.")
    load_after: list[float] = Field(default_factory=list)
    wall_seconds: float = 0.0
    other_cpu_seconds: float = Field(default=0.0, description="CPU time of every other process during the timed steps.")
    other_cpu_share: float = Field(default=0.0, description="other_cpu_seconds / (wall_seconds x cores).")
    cores: int = 1
    cpu_model: str = ""
    cpu_mhz: float | None = None
    p90_over_median: float | None = None
    round_spread: float | None = Field(default=None, description="Slowest round's median / fastest round's.")
    flags: list[str] = Field(default_factory=list, description="Why the job's timings are not to be trusted, if they are not.")

    @property
    def busy(self) -> bool:
        return any(flag.startswith("busy") for flag in self.flags)

    @property
    def unstable(self) -> bool:
        return any(flag.startswith("unstable") for flag in self.flags)


class Environment(Model):
    harness_version: str
    git_commit: str | None = None
    git_dirty: bool | None = Field(default=None, description="The checkout had uncommitted changes.")
    python: str
    os: str
    cpu: str
    cpu_count: int | None = Field(default=None, description="Logical cores of the machine.")
    framework: str
    framework_version: str | None = None
    device: str
    threads: int
    thread_pools: dict[str, JsonValue] = Field(
        default_factory=dict, description="The native thread pools and thread settings the job read back (free-form per framework).")
    determinism: dict[str, JsonValue] = Field(
        default_factory=dict, description="The seeds and determinism settings in force (free-form per framework).")


class Node(Model):
    """The machine a job ran on, and whether it had that machine to itself."""

    hostname: str
    cpu: str
    gpu: str | None = Field(default=None, description="The GPU(s) a cuda job saw; None for a CPU job.")
    concurrent_jobs: int = Field(default=0, description="Other jobs of the run that ran on this node at the same time.")
    niceness: int = Field(default=0, description="The job's scheduling niceness; above 0, any other process on the node comes first.")
    ray_node_id: str | None = Field(default=None, description="The Ray node that ran the job (several can share a host); "
                                                               "None off Ray.")


NAMED_LAYERS = 8
"""The most layer names a summary lists."""


class WeightSources(BaseModel):
    """Where a job's starting weights came from: the file, its checksum, and each layer's source."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    file: str | None = Field(description="The weight file (absolute path), or None when it was not available.")
    sha256: str | None = Field(default=None, description="The file's sha256, verified against the pin.")
    from_file: list[str] = Field(default_factory=list, description="The layers whose weights came from the file.")
    others: Literal["framework", "shared"] = Field(description="How every other weighted layer started.")
    from_others: list[str] = Field(default_factory=list, description="The weighted layers that started as `others` says.")
    note: str | None = Field(default=None, description="Why the file was not used, when it was not.")

    def summary(self) -> str:
        """One line for reports: the file, its checksum, and which layers came from where."""
        if self.file is None:
            return f"{self.others} initialisation: the weight file was not available ({self.note})"
        taken = f"{Path(self.file).name} (sha256 {self.sha256})"
        if not self.from_others:
            return f"{taken} for every weighted layer ({len(self.from_file)})"
        if len(self.from_others) <= NAMED_LAYERS:
            rest = ", ".join(self.from_others)
            return f"{taken} for {len(self.from_file)} layers, and {self.others} initialisation for {rest}"
        if len(self.from_file) <= NAMED_LAYERS:
            return f"{taken} for {', '.join(self.from_file)}, and {self.others} initialisation for the other {len(self.from_others)}"
        return (f"{taken} for {len(self.from_file)} layers and {self.others} initialisation for {len(self.from_others)} "
                "(each listed in results.json, weight_sources)")


class SavedWeights(BaseModel):
    """A job's trained weights, written as a neutral weight file (``harness run --save-weights``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    file: str
    sha256: str


class TrainMeasurements(Model):
    """Everything a training worker measures (see ``definitions`` for how), declared once: the worker
    sends it as :class:`harness.runner.protocol.TrainResult`, and its job's :class:`JobResult` keeps
    it. A job whose worker never answered holds only the parent's part (the defaults here)."""

    status: Status
    reason: str | None = None
    diverged_rule: str | None = Field(
        default=None, description="Which divergence rule fired (harness.runner.divergence): non_finite or above_chance."
    )
    params: Params | None = None
    layer_params: dict[str, LayerParams] = Field(
        default_factory=dict, description="Parameters per neutral layer as the framework counts them."
    )
    history: list[Epoch] = Field(default_factory=list)
    step_time: Timing | None = None
    images_per_second: NonNegative | None = None
    latency_batch_1: Timing | None = None
    latency_batch: Timing | None = None
    latency_batch_size: NonNegativeInt | None = Field(default=None, description="Images per call of latency_batch.")
    build_seconds: NonNegative | None = None
    first_step_seconds: NonNegative | None = None
    compile_seconds: dict[str, NonNegative] = Field(
        default_factory=dict,
        description="Input shape -> seconds of the first training step at that shape (tracing, compiling); "
                    "left out of step_time.",
    )
    peak_rss_mb: NonNegative | None = None
    gflops: NonNegative | None = Field(default=None, description="Achieved training GFLOP/s (2 x oracle MACs x 3).")
    gemm_gflops: NonNegative | None = Field(default=None, description="The machine's FP32 GEMM rate at the job's threads (its ceiling).")
    noise: Noise | None = None
    effective_settings: Settings = Field(default_factory=dict)
    environment: Environment | None = None
    data: DataInfo | None = None
    first_step_losses: list[float] = Field(
        default_factory=list, description="Losses of the first training steps, to compare runs from shared weights."
    )
    first_step_batches: list[str] = Field(
        default_factory=list, description="A digest of each first step's batch (images and labels), in order."
    )
    batch_order: str | None = Field(
        default=None, description="A digest of every step's batch in order: equal across frameworks when they trained on "
                                  "the same batches in the same order."
    )
    test_images_scored: NonNegativeInt | None = Field(default=None, description="How many test images each evaluation scored.")
    test_images_digest: str | None = Field(
        default=None, description="A digest of the test images scored (as the framework received them) and their labels, in "
                                  "order: equal for every job scored on the same images."
    )
    startup_seconds: float | None = Field(default=None, description="Worker start to framework ready (imports).")
    data_seconds: float | None = Field(default=None, description="Loading and preparing the data set.")
    definitions: dict[str, str] = Field(default_factory=dict, description="How each measured figure is defined.")
    weight_sources: WeightSources | None = Field(
        default=None, description="train.init from a weight file: the file, its sha256 and which layers came from it.")
    saved_weights: SavedWeights | None = Field(default=None, description="The trained weights' file (--save-weights).")


class JobRecord(Model):
    """What the parent knows of a job without its worker: which job, its settings, when and where it ran."""

    schema_version: int = SCHEMA_VERSION
    network: str = Field(description="Network key: spec name, or name:variant.")
    spec_file: str
    framework: str
    mode: str = Field(default="eager", description="eager, or compiled (the framework's compiler).")
    seed: NonNegativeInt
    epochs_requested: NonNegativeInt
    spec_epochs: NonNegativeInt | None = Field(default=None, description="The spec's own epoch count (--epochs may differ).")
    batch_size: NonNegativeInt
    started_at: str | None = None
    finished_at: str | None = None
    config: dict[str, JsonValue] = Field(
        default_factory=dict, description="The settings the job ran with (harness.runner.protocol.TrainConfig.comparable); "
                                          "--resume reuses a result only when they match."
    )
    log_tail: str | None = Field(default=None, description="The worker's last output lines, when it failed.")
    node: Node | None = Field(default=None, description="Where the job ran (None in results from before nodes were recorded).")
    timing_grade: bool = Field(
        default=True, description="False when other jobs shared the job's node while it ran, or the run packed jobs (--concurrency)."
    )


class JobResult(TrainMeasurements, JobRecord):
    """Everything one (network, framework, seed) job measured, whatever its outcome: what the parent
    knows of the job (:class:`JobRecord`, its fields first) and what its worker measured (:class:`TrainMeasurements`)."""

    def measured_by(self, worker: TrainMeasurements) -> JobResult:
        """This job with everything its worker measured (the worker's status and environment replace the parent's)."""
        return self.model_copy(update={name: getattr(worker, name) for name in TrainMeasurements.model_fields})

    @property
    def label(self) -> str:
        """The framework, with the mode when it is not eager (``torch:compiled``): what tells jobs apart."""
        return self.framework if self.mode == "eager" else f"{self.framework}:{self.mode}"

    @property
    def noise_flags(self) -> list[str]:
        """Why this job's timings are not to be trusted (busy machine, unstable rounds); empty when they are."""
        return self.noise.flags if self.noise is not None else []

    @property
    def final_test_accuracy(self) -> float | None:
        return self.history[-1].test_accuracy if self.history else None

    @property
    def best_test_accuracy(self) -> float | None:
        values = [e.test_accuracy for e in self.history if e.test_accuracy is not None]
        return max(values) if values else None


class LayerRow(Model):
    """One layer of the oracle's table."""

    name: str
    type: str
    output_shape: list[NonNegativeInt | None]
    trainable: NonNegativeInt
    non_trainable: NonNegativeInt
    total: NonNegativeInt | None = None
    macs: NonNegativeInt | None = None
    depth: NonNegativeInt = 0


class ExpectRow(Model):
    """One published parameter figure against the oracle's."""

    scope: Literal["params", "backbone"] = "params"
    field: Literal["total", "trainable", "non_trainable"]
    expected: NonNegativeInt
    actual: NonNegativeInt
    ok: bool


class NetworkCheck(Model):
    """A network's check by the oracle: the ``harness check --json`` object, and a run's ``networks`` entry."""

    name: str = ""
    variant: str | None = None
    file: str = Field(default="", description="The spec file.")
    input: list[NonNegativeInt | None] = Field(default_factory=list, description="The input shape (H, W, C).")
    layers: list[LayerRow] = Field(default_factory=list)
    params: Params | None = None
    backbone_params: Params | None = None
    macs: NonNegativeInt | None = Field(default=None, description="Per image; None when the input size is not fixed.")
    macs_by_size: dict[str, NonNegativeInt | None] = Field(
        default_factory=dict, description="A size-agnostic network's MACs at each image size of its data set (HxW).")
    expect: list[ExpectRow] = Field(default_factory=list)
    expect_ok: bool = True
    reference: Reference | None = Field(default=None, description="The figures the spec's source published.")
    findings: list[Finding] | None = Field(
        default=None, description="The spec's published findings (expect.findings); None in results from before they were recorded.")

    @field_serializer("reference")
    def _published_only(self, reference: Reference | None) -> dict[str, Any] | None:
        return None if reference is None else reference.model_dump(mode="json", exclude_none=True)

    @field_serializer("findings")
    def _stated_only(self, findings: list[Finding] | None) -> list[dict[str, Any]] | None:
        return None if findings is None else [finding.model_dump(mode="json", exclude_none=True) for finding in findings]


class FrameworkCount(Model):
    """One framework's parameter counts of a network and the settings it resolved (or why it could not build it)."""

    params: Params | None = None
    layers: dict[str, LayerParams] = Field(default_factory=dict)
    effective_settings: Settings = Field(default_factory=dict)
    error: str | None = None


class ParityEntry(Model):
    """One pair of a parity check (harness.equivalence.parity.PairResult): the same weights and images in two frameworks."""

    network: str | None = None
    input_shape: list[NonNegativeInt | None] | None = None
    a: str | None = None
    b: str | None = None
    max_abs: float | None = None
    max_rel: float | None = None
    tolerance: float | None = None
    first_divergent_layer: str | None = None
    passed: bool | None = None


class TrainParityEntry(Model):
    """One pair of a training-parity check (harness.equivalence.train_compare.TrainPair), as the run's report shows it."""

    network: str | None = None
    dtype: str | None = None
    a: str | None = None
    b: str | None = None
    steps: NonNegativeInt | None = None
    judged: str | None = Field(default=None, description="What was judged, in words (TrainPair.judged_steps).")
    max_loss_diff: float | None = None
    max_weight_diff: float | None = None
    first_divergence: str | None = None
    passed: bool | None = None


def framework_params(jobs: list[JobResult]) -> dict[str, dict[str, FrameworkCount]]:
    """Network key -> framework -> parameter counts (total and per layer) and effective settings,
    from the first job of each pair that built its model."""
    table: dict[str, dict[str, FrameworkCount]] = {}
    for job in jobs:
        if job.params is None or job.framework in table.get(job.network, {}):
            continue
        table.setdefault(job.network, {})[job.framework] = FrameworkCount(
            params=job.params, layers=job.layer_params, effective_settings=job.effective_settings)
    return table


class RunResults(Model):
    """A whole run: the jobs, plus the oracle's analysis and the parity checks of its networks."""

    schema_version: int = SCHEMA_VERSION
    command: str = ""
    specs: list[str] = Field(default_factory=list)
    networks: dict[str, NetworkCheck] = Field(default_factory=dict, description="Network key -> the oracle's check.")
    jobs: list[JobResult] = Field(default_factory=list)
    parity: list[ParityEntry] = Field(default_factory=list)
    train_parity: list[TrainParityEntry] = Field(
        default_factory=list, description="Training parity (harness.runner.train_parity) of the first steps, with init shared."
    )
    framework_params: dict[str, dict[str, FrameworkCount]] = Field(
        default_factory=dict, description="Network key -> framework -> `harness params` result. Left out of the "
        "file when it is what the jobs give (:func:`framework_params`), and derived from them on reading."
    )
    notes: list[str] = Field(default_factory=list)
    settings: dict[str, JsonValue] = Field(
        default_factory=dict, description="The run's options as resolved (harness.runner.jobs.RunOptions, timeout, executor).")
    started_at: str | None = None
    finished_at: str | None = None
    samples_file: str | None = Field(
        default=None, description="The file beside this one that holds the raw timing samples (schema 2 on)."
    )
    details_file: str | None = Field(
        default=None, description="The file beside this one that holds the per-layer and per-setting detail (schema 3 on)."
    )


def _write_atomic(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` through a temporary file beside it and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name[:TEMPORARY_PREFIX_CHARS]}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` through a temporary file and a rename."""
    text = json.dumps(data, indent=2, sort_keys=True, allow_nan=True) + "\n"
    _write_atomic(path, text.encode("utf-8"))


def write_model(path: Path, model: BaseModel) -> None:
    """Atomically write a results model."""
    write_json_atomic(path, model.model_dump(mode="json"))


def line_json(value: Any, depth: int = LINE_DEPTH, level: int = 0) -> str:
    """``value`` as JSON with its objects and lists opened ``depth`` levels deep and everything deeper on
    one line: one line per field of a job, so the line count follows the jobs, not the layers or epochs."""
    if level >= depth or not isinstance(value, (dict, list)) or not value:
        return json.dumps(value, sort_keys=True, separators=(", ", ": "), allow_nan=True, ensure_ascii=False)
    inner, outer = "  " * (level + 1), "  " * level
    if isinstance(value, dict):
        items = [f"{inner}{json.dumps(key)}: {line_json(value[key], depth, level + 1)}" for key in sorted(value)]
        return "{\n" + ",\n".join(items) + f"\n{outer}}}"
    return "[\n" + ",\n".join(f"{inner}{line_json(item, depth, level + 1)}" for item in value) + f"\n{outer}]"


def _write_lines(path: Path, data: Any, depth: int) -> None:
    _write_atomic(path, (line_json(data, depth) + "\n").encode("utf-8"))


def _pop_details(record: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """Remove ``fields`` from ``record`` and return the non-empty ones."""
    popped = {name: record.pop(name) for name in fields if name in record}
    return {name: value for name, value in popped.items() if value}


def job_details_path(path: Path) -> Path:
    """The details file of the job file ``path``."""
    path = Path(path)
    return path.with_name(path.name.removesuffix(".json") + DETAIL_SUFFIX)


JOB_FILE_FIELDS = (*JobRecord.model_fields, "status", "reason", "diverged_rule")
"""What a job's own JSON file holds: which job, how it was run, and its outcome. What it measured is in its
details file (and, once the run is written, in results.json), so a run's job files add little to review."""


def write_job(path: Path, result: JobResult) -> None:
    """Write one job's file (:data:`JOB_FILE_FIELDS`), and everything it measured in its own details file beside it."""
    data = result.model_dump(mode="json")
    details = {name: data.pop(name) for name in list(data) if name not in JOB_FILE_FIELDS}
    data["schema_version"] = SCHEMA_VERSION
    _write_atomic(job_details_path(path), _gzip_json({"schema_version": SCHEMA_VERSION, "job": details}))
    _write_lines(path, data, depth=1)


def read_job(path: Path) -> JobResult:
    """One job's file, with what its details file holds when there is one (older files hold everything inline)."""
    data = read_json(path)
    details = job_details_path(path)
    if isinstance(data, dict) and details.is_file():
        stored = _read_gzip_json(details, DETAILS_LIMIT).get("job")
        data.update(stored if isinstance(stored, dict) else {})
    return JobResult.model_validate(data)


def _gzip_json(data: Any) -> bytes:
    """``data`` as compact JSON in a gzip stream without a name or a time: the same data, the same bytes."""
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=9, mtime=0) as stream:
        stream.write(json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=True).encode("utf-8"))
    return buffer.getvalue()


def write_run(path: Path, run: RunResults) -> None:
    """Write a run: ``path`` (results.json) without raw timing samples, the samples in ``samples.json.gz``
    beside it (network -> framework -> seed -> timed field -> samples in ms)."""
    path = Path(path)
    data = run.model_dump(mode="json")
    if run.framework_params == framework_params(run.jobs):
        del data["framework_params"]  # the jobs hold it: a second copy of every setting would double the file
    samples: Samples = {}
    for job in data["jobs"]:
        for name in TIMED_FIELDS:
            values = job[name].pop("samples_ms", []) if job.get(name) else []
            if values:
                per_seed = samples.setdefault(job["network"], {}).setdefault(job["framework"], {})
                per_seed.setdefault(str(job["seed"]), {})[name] = values
    details: dict[str, Any] = {"jobs": {}, "networks": {}}
    for job in data["jobs"]:
        job["schema_version"] = SCHEMA_VERSION
        moved = _pop_details(job, JOB_DETAIL_FIELDS)
        if moved:
            label = job["framework"] if job.get("mode", "eager") == "eager" else f"{job['framework']}:{job['mode']}"
            details["jobs"].setdefault(job["network"], {}).setdefault(label, {})[str(job["seed"])] = moved
    for key, network in data["networks"].items():
        moved = _pop_details(network, NETWORK_DETAIL_FIELDS)
        if moved:
            details["networks"][key] = moved
    if "framework_params" in data:
        details["framework_params"] = data.pop("framework_params")
    data["schema_version"] = SCHEMA_VERSION
    data["samples_file"] = SAMPLES_FILE
    data["details_file"] = DETAILS_FILE
    _write_atomic(path.parent / SAMPLES_FILE, _gzip_json({"schema_version": SCHEMA_VERSION, "samples": samples}))
    _write_atomic(path.parent / DETAILS_FILE, _gzip_json({"schema_version": SCHEMA_VERSION, **details}))
    _write_lines(path, data, depth=LINE_DEPTH)


DETAILS_LIMIT = SAMPLES_LIMIT
"""The most bytes a details file may decompress to."""


def _read_gzip_json(path: Path, limit: int) -> Any:
    """The JSON value of a gzip file, bounded to ``limit`` bytes decompressed; ValueError naming the file."""
    try:
        with gzip.open(path, "rb") as stream:
            raw = stream.read(limit + 1)
        if len(raw) > limit:
            raise ValueError(f"it decompresses to more than {limit:,} bytes")
        data = json.loads(raw.decode("utf-8"))
    except (OSError, EOFError, ValueError) as exc:
        raise ValueError(f"{path}: not a gzip-compressed JSON {path.name.split('.')[0]} file ({exc}); regenerate it "
                         "with `harness run`, or delete it to read the results without it.") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a JSON object; regenerate it with `harness run`, or delete it.")
    return data


def _read_samples(path: Path) -> Samples:
    """The samples file's mapping; empty when the file is missing (reports need no samples)."""
    if not path.is_file():
        return {}
    data = _read_gzip_json(path, SAMPLES_LIMIT)
    try:
        return SAMPLES.validate_python(data.get("samples"))
    except ValidationError as exc:
        raise ValueError(f"{path}: no valid 'samples' mapping (network -> framework -> seed -> field -> list of "
                         "milliseconds); regenerate it with `harness run`, or delete it.") from exc


class ResultsFileError(ValueError):
    """A file that is not a run's results (or not one this harness can read), said in one paragraph."""


READ_FIX = "Pass the results.json that `harness run` wrote, or the report directory that holds it."
RUN_KEYS = ("schema_version", "jobs")
JOB_KEYS = ("network", "framework", "status", "seed")


def _depth_beyond(data: Any, limit: int) -> bool:
    """Whether ``data`` nests lists and objects more than ``limit`` levels deep (no recursion)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            if depth > limit:
                return True
            stack.extend((child, depth + 1) for child in (value.values() if isinstance(value, dict) else value))
    return False


def read_json(path: Path) -> Any:
    """The JSON value in ``path``, within the size and nesting bounds of :mod:`harness.limits`.

    Raises :class:`ResultsFileError` for a file past a bound, ``json.JSONDecodeError`` for bad JSON.
    """
    limit = limits.RESULTS_BYTES.value
    with open(path, "rb") as stream:
        raw = stream.read(limit + 1)
    if len(raw) > limit:
        raise ResultsFileError(f"the file is larger than a results file can be: {limits.RESULTS_BYTES.describe()}.")
    try:
        data = json.loads(raw.decode("utf-8"))
    except RecursionError:
        data = None
        deep = True
    else:
        deep = _depth_beyond(data, limits.RESULTS_DEPTH.value)
    if deep:
        raise ResultsFileError(f"the JSON nests deeper than a results file does: {limits.RESULTS_DEPTH.describe()}. {READ_FIX}")
    return data


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a JSON list"
    return "a JSON object" if isinstance(value, dict) else f"the single value {str(json.dumps(value))[:40]}"


def check_run_object(data: Any) -> None:
    """Refuse JSON that is not a run's results: a list or a number, one job's file, any other object."""
    if not isinstance(data, dict):
        raise ResultsFileError(f"the file holds {_kind(data)}, not a run's results (an object with "
                               f"{' and '.join(map(repr, RUN_KEYS))}). {READ_FIX}")
    if all(key in data for key in JOB_KEYS) and "jobs" not in data:
        raise ResultsFileError("this is the result of one job (a file from <out>/jobs/), not a run's results. "
                               "Fix: pass the run's <out>/results.json, or its folder <out>.")
    missing = [key for key in RUN_KEYS if key not in data]
    if "schema_version" in missing:
        raise ResultsFileError(f"the JSON object has no {' and no '.join(map(repr, missing))}: it is not a results file "
                               f"of `harness run`. {READ_FIX}")
    version = data["schema_version"]
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ResultsFileError(f"schema_version is {str(json.dumps(version))[:40]}, not a schema number (1 to "
                               f"{SCHEMA_VERSION}). {READ_FIX}")
    if version > SCHEMA_VERSION:
        raise ResultsFileError(f"the file was written by a newer harness (schema {version} > {SCHEMA_VERSION}). "
                               "Fix: upgrade harness.")
    if missing:
        raise ResultsFileError(f"the JSON object has no 'jobs': it is not a results file of `harness run`. {READ_FIX}")


def schema_problem(exc: ValidationError) -> str:
    """Where in the file the first problem is, what it is, and the fix, in one sentence."""
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "the top level"
    return (f"{where}: {error['msg']} ({exc.error_count()} problem(s) in all); the file does not follow the results "
            f"schema. {READ_FIX}")


def _merge_details(data: dict[str, Any], path: Path) -> None:
    """Put the details file's per-layer and per-setting detail back into the results' JSON ``data``."""
    if not path.is_file():
        raise ResultsFileError(f"{path.name}, which the results name as their details file, is missing beside them; "
                               "it holds every layer's parameters and settings. Fix: copy it with results.json.")
    try:
        details = _read_gzip_json(path, DETAILS_LIMIT)
    except ValueError as exc:
        raise ResultsFileError(str(exc)) from None
    jobs, networks = details.get("jobs") or {}, details.get("networks") or {}
    if not isinstance(jobs, dict) or not isinstance(networks, dict):
        raise ResultsFileError(f"{path}: 'jobs' and 'networks' must be JSON objects; regenerate it with `harness run`.")
    for job in data.get("jobs") or []:
        if isinstance(job, dict):
            mode = job.get("mode", "eager")
            label = job.get("framework") if mode == "eager" else f"{job.get('framework')}:{mode}"
            stored = ((jobs.get(job.get("network")) or {}).get(label) or {}).get(str(job.get("seed")))
            job.update(stored if isinstance(stored, dict) else {})
    for key, network in (data.get("networks") or {}).items():
        stored = networks.get(key)
        if isinstance(network, dict) and isinstance(stored, dict):
            network.update(stored)
    if "framework_params" in details:
        data["framework_params"] = details["framework_params"]


def read_run(path: Path) -> RunResults:
    """Read a run's ``results.json``: bounded, and refused unless it is a run's results in a schema
    this harness knows (:class:`ResultsFileError`, naming the first problem's place in the file)."""
    data = read_json(Path(path))
    check_run_object(data)
    if isinstance(data.get("details_file"), str):
        _merge_details(data, Path(path).parent / Path(data["details_file"]).name)
    try:
        run = RunResults.model_validate(data)
    except ValidationError as exc:
        raise ResultsFileError(schema_problem(exc)) from None
    if "framework_params" not in data:
        run.framework_params = framework_params(run.jobs)
    if run.samples_file:
        samples = _read_samples(Path(path).parent / Path(run.samples_file).name)
        for job in run.jobs:
            recorded = samples.get(job.network, {}).get(job.framework, {}).get(str(job.seed), {})
            for name in TIMED_FIELDS:
                timing = getattr(job, name)
                if timing is not None and not timing.samples_ms:
                    timing.samples_ms = recorded.get(name, [])
    return run
