"""The jobs of a run: one per (spec, variant, seed, framework), in a fixed order.

A :class:`TrainConfig` is everything a worker needs to train one job; it travels to the worker
as the request and is stored in the job's result, so ``--resume`` can tell whether a result on
disk was measured with the same settings.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt

from harness.spec import Network

JOBS_FOLDER = "jobs"
RESULTS_FILE = "results.json"


class TrainConfig(BaseModel):
    """The settings of one training job (the ``train`` task's request, without its task name)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    framework: str
    spec: str
    variant: str | None = None
    spec_digest: str = Field(default="", description="sha256 of the network's validated spec (variant merged).")
    seed: int
    epochs: PositiveInt
    batch_size: PositiveInt
    dataset: str | None = Field(default=None, description="A data set standing in for the spec's (--dataset).")
    data_dir: str | None = None
    limit_train: PositiveInt | None = None
    limit_test: PositiveInt | None = None
    init: Literal["framework", "shared"] = "framework"
    device: str = "cpu"
    threads: PositiveInt = 1
    warmup_steps: int = Field(default=5, ge=0, description="Steps left out of the step-time statistics.")
    latency_repeats: PositiveInt = Field(default=30, description="Most inference calls timed per batch size.")
    latency_budget_s: float = Field(default=2.0, gt=0, description="Most seconds spent timing one batch size.")

    def request(self) -> dict[str, Any]:
        """The worker request for this job."""
        return {"task": "train", **self.model_dump()}

    def comparable(self) -> dict[str, Any]:
        """The settings that must match for a stored result to stand for this job."""
        return self.model_dump(exclude={"spec", "data_dir"})


@dataclass(frozen=True)
class Job:
    """One job of a run: a network, a framework and a seed, with its full configuration."""

    network: Network
    config: TrainConfig

    @property
    def key(self) -> str:
        return f"{self.network.key} / {self.config.framework} / seed {self.config.seed}"

    @property
    def file_name(self) -> str:
        """``<network-slug>__<framework>__seed<k>.json``."""
        return f"{self.network.slug}__{self.config.framework}__seed{self.config.seed}.json"

    def result_path(self, out: Path) -> Path:
        return Path(out) / JOBS_FOLDER / self.file_name


@dataclass(frozen=True)
class RunOptions:
    """The command-line options that shape every job of a run."""

    frameworks: list[str]
    seeds: list[int] | None = None
    epochs: int | None = None
    batch_size: int | None = None
    dataset: str | None = None
    data_dir: str | None = None
    limit_train: int | None = None
    limit_test: int | None = None
    init: Literal["framework", "shared"] | None = None
    device: str = "cpu"
    threads: int = 1
    warmup_steps: int = 5
    latency_repeats: int = 30


def spec_digest(network: Network) -> str:
    """A fingerprint of what the network's spec says (not how the file is written)."""
    return hashlib.sha256(network.spec.model_dump_json().encode()).hexdigest()


def plan_jobs(networks: list[Network], options: RunOptions) -> list[Job]:
    """Every job, ordered by network (as given), then seed, then framework (as given)."""
    jobs: list[Job] = []
    for network in networks:
        train = network.spec.train
        for seed in options.seeds if options.seeds is not None else [train.seed]:
            for framework in options.frameworks:
                config = TrainConfig(
                    framework=framework, spec=network.path, variant=network.variant, spec_digest=spec_digest(network), seed=seed,
                    epochs=options.epochs or train.epochs, batch_size=options.batch_size or train.batch_size,
                    dataset=options.dataset, data_dir=options.data_dir,
                    limit_train=options.limit_train, limit_test=options.limit_test,
                    init=options.init or train.init, device=options.device, threads=options.threads,
                    warmup_steps=options.warmup_steps, latency_repeats=options.latency_repeats,
                )
                jobs.append(Job(network, config))
    return jobs
