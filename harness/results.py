"""The results schema (one file per job, one file per run) and atomic JSON writes.

Every job's result is written as soon as the job ends, by writing a temporary file beside the
target and renaming it over the target, so a crash or Ctrl-C never leaves a half-written file.
``SCHEMA_VERSION`` is stored in every file (as asv does), so later harness versions can refuse or
convert files they do not understand.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1

Status = Literal["ok", "diverged", "failed", "timeout", "oom", "interrupted", "skipped"]


class Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Params(Model):
    trainable: int
    non_trainable: int
    total: int


class Timing(Model):
    """Summary of repeated timings in milliseconds, with the raw samples kept for statistics."""

    median_ms: float
    p10_ms: float
    p90_ms: float
    count: int
    samples_ms: list[float] = Field(default_factory=list)


class Epoch(Model):
    epoch: int
    train_loss: float
    train_accuracy: float
    test_loss: float | None = None
    test_accuracy: float | None = None
    seconds: float = Field(description="Training time of the epoch (batches and steps, no evaluation).")
    steps: int | None = None
    eval_seconds: float | None = Field(default=None, description="Time to score the test split.")


class DataInfo(Model):
    """Which data the job trained on, and how it was brought to the network's input."""

    name: str
    requested: str | None = Field(default=None, description="The spec's data set when another stood in.")
    source: str = Field(default="", description="Where the files were found.")
    checksum: str = Field(default="", description="sha256 over the files as read.")
    train_size: int = 0
    test_size: int = 0
    full_train_size: int | None = Field(default=None, description="Training images before --limit-train.")
    full_test_size: int | None = Field(default=None, description="Test images before --limit-test.")
    image_shape: list[int | None] = Field(default_factory=list, description="Shape before fitting.")
    fitted_to: list[int | None] = Field(default_factory=list, description="The network's input shape.")
    fit: str = ""
    notes: list[str] = Field(default_factory=list)


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
    thread_pools: dict[str, Any] = Field(default_factory=dict)
    determinism: dict[str, Any] = Field(default_factory=dict)


class JobResult(Model):
    """Everything one (network, framework, seed) job measured, whatever its outcome."""

    schema_version: int = SCHEMA_VERSION
    network: str = Field(description="Network key: spec name, or name:variant.")
    spec_file: str
    framework: str
    seed: int
    status: Status
    reason: str | None = None
    epochs_requested: int
    spec_epochs: int | None = Field(default=None, description="The spec's own epoch count (--epochs may differ).")
    batch_size: int
    params: Params | None = None
    layer_params: dict[str, dict[str, int]] = Field(
        default_factory=dict, description="Parameters per neutral layer as the framework counts them."
    )
    history: list[Epoch] = Field(default_factory=list)
    step_time: Timing | None = None
    images_per_second: float | None = None
    latency_batch_1: Timing | None = None
    latency_batch: Timing | None = None
    latency_batch_size: int | None = Field(default=None, description="Images per call of latency_batch.")
    build_seconds: float | None = None
    first_step_seconds: float | None = None
    peak_rss_mb: float | None = None
    gflops: float | None = Field(default=None, description="Achieved training GFLOP/s (2 x oracle MACs x 3).")
    effective_settings: dict[str, Any] = Field(default_factory=dict)
    environment: Environment | None = None
    data: DataInfo | None = None
    started_at: str | None = None
    finished_at: str | None = None
    config: dict[str, Any] = Field(
        default_factory=dict, description="The settings the job ran with; --resume reuses a result only when they match."
    )
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
    startup_seconds: float | None = Field(default=None, description="Worker start to framework ready (imports).")
    data_seconds: float | None = Field(default=None, description="Loading and preparing the data set.")
    definitions: dict[str, str] = Field(default_factory=dict, description="How each measured figure is defined.")
    log_tail: str | None = Field(default=None, description="The worker's last output lines, when it failed.")

    @property
    def final_test_accuracy(self) -> float | None:
        return self.history[-1].test_accuracy if self.history else None

    @property
    def best_test_accuracy(self) -> float | None:
        values = [e.test_accuracy for e in self.history if e.test_accuracy is not None]
        return max(values) if values else None


class RunResults(Model):
    """A whole run: the jobs, plus the oracle's analysis and the parity checks of its networks."""

    schema_version: int = SCHEMA_VERSION
    command: str = ""
    specs: list[str] = Field(default_factory=list)
    networks: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Network key -> the `harness check --json` object."
    )
    jobs: list[JobResult] = Field(default_factory=list)
    parity: list[dict[str, Any]] = Field(default_factory=list)
    train_parity: list[dict[str, Any]] = Field(
        default_factory=list, description="Training parity (harness.train_parity) of the first steps, with init shared."
    )
    framework_params: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Network key -> framework -> `harness params` result."
    )
    notes: list[str] = Field(default_factory=list)
    settings: dict[str, Any] = Field(default_factory=dict, description="The run's options as resolved.")
    started_at: str | None = None
    finished_at: str | None = None


def write_json_atomic(path: Path, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` through a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(data, stream, indent=2, sort_keys=True, allow_nan=True)
            stream.write("\n")
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_model(path: Path, model: BaseModel) -> None:
    """Atomically write a results model."""
    write_json_atomic(path, model.model_dump(mode="json"))


def read_run(path: Path) -> RunResults:
    """Read a run's ``results.json``, refusing files from a newer schema."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    version = data.get("schema_version", 0)
    if version > SCHEMA_VERSION:
        raise ValueError(f"{path} was written by a newer harness (schema {version} > {SCHEMA_VERSION}); upgrade harness.")
    return RunResults.model_validate(data)
