"""The jobs of a run: one per (spec, variant, seed, thread count, framework, mode), in a fixed order.

The command line's options are resolved once, here, into each job's
:class:`~harness.runner.protocol.TrainConfig`; the job's request carries that config and the
network with the same settings applied (:func:`~harness.runner.protocol.resolve_train`).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field, NonNegativeInt, PositiveInt, field_validator

from harness.framework import Framework, Mode, ModeError
from harness.runner.protocol import Device, Init, Message, TrainConfig, TrainRequest, resolve_train
from harness.spec import Network

JOBS_FOLDER = "jobs"
WEIGHTS_FOLDER = "weights"
"""Where ``harness run --save-weights`` writes each job's trained weights, inside the output folder."""
RESULTS_FILE = "results.json"

_DEFAULTS = TrainConfig.model_fields


class RunOptions(Message):
    """The command-line options that shape every job of a run; None keeps each spec's own value.

    The measurement defaults are :class:`TrainConfig`'s, declared there once.
    """

    frameworks: list[str]
    modes: list[Mode] = Field(default_factory=lambda: [_DEFAULTS["mode"].default], min_length=1)
    seeds: list[NonNegativeInt] | None = None
    epochs: PositiveInt | None = None
    batch_size: PositiveInt | None = None
    dataset: str | None = None
    data_dir: str | None = None
    limit_train: PositiveInt | None = None
    limit_test: PositiveInt | None = None
    init: Init | None = None
    device: Device = _DEFAULTS["device"].default
    threads: list[PositiveInt] = Field(default=[_DEFAULTS["threads"].default], min_length=1)
    warmup_steps: NonNegativeInt = Field(default=_DEFAULTS["warmup_steps"].default)
    latency_repeats: PositiveInt = Field(default=_DEFAULTS["latency_repeats"].default)
    without_compiled: list[str] = Field(default_factory=list)
    """Frameworks whose compiled jobs are left out: they offer no compiled mode (``--framework all``)."""

    @field_validator("threads", mode="before")
    @classmethod
    def _one_or_several(cls, value: object) -> object:
        """One thread count (an int) is a list of one; repeated counts are kept once, in order."""
        return [value] if isinstance(value, int) else list(dict.fromkeys(value)) if isinstance(value, list) else value

    @property
    def several_threads(self) -> bool:
        """Whether the run times each job at more than one thread count."""
        return len(self.threads) > 1


SHARED_FIELDS = ("dataset", "data_dir", "limit_train", "limit_test", "device", "warmup_steps", "latency_repeats")
"""The options every job of a run takes as they are."""


@dataclass(frozen=True)
class Job:
    """One job of a run: a network, a framework, a mode, a seed and a thread count, with its full configuration.

    ``by_threads``: the run has several thread counts, so the count is part of the job's key and
    file name; a run with one count keeps the names of earlier runs (and their ``--resume``).
    """

    network: Network
    config: TrainConfig
    by_threads: bool = False

    @property
    def key(self) -> str:
        mode = "" if self.config.mode == "eager" else f" / {self.config.mode}"
        threads = f" / {self.config.threads} threads" if self.by_threads else ""
        return f"{self.network.key} / {self.config.framework}{mode} / seed {self.config.seed}{threads}"

    @property
    def file_name(self) -> str:
        """``<network-slug>__<framework>__seed<k>.json``, ``<network-slug>__<framework>__<mode>__seed<k>.json``
        in a mode other than eager (so eager results keep their names), with ``__t<threads>`` before
        ``.json`` when the run has several thread counts."""
        mode = "" if self.config.mode == "eager" else f"__{self.config.mode}"
        threads = f"__t{self.config.threads}" if self.by_threads else ""
        return f"{self.network.slug}__{self.config.framework}{mode}__seed{self.config.seed}{threads}.json"

    def result_path(self, out: Path) -> Path:
        return Path(out) / JOBS_FOLDER / self.file_name

    def request(self) -> TrainRequest:
        """The worker request: the config, and the network with the config's training settings."""
        return TrainRequest(config=self.config, network=resolve_train(self.network, self.config))


def spec_digest(network: Network) -> str:
    """A fingerprint of what the network's spec says (not how the file is written)."""
    return hashlib.sha256(network.spec.model_dump_json().encode()).hexdigest()


def compiled_left_out(frameworks: Mapping[str, type[Framework]], modes: list[Mode], every: bool) -> dict[str, str]:
    """The frameworks whose compiled jobs a run leaves out, each with the note that says why.

    Only with ``every`` (``--framework all``): a framework without a compiled mode is then not a
    failure, its compiled job is simply not planned. A framework named explicitly with ``--mode
    compiled`` raises :class:`ModeError` before anything runs, and so does ``--mode compiled``
    alone when no framework offers it (no job would be left).
    """
    if "compiled" not in modes:
        return {}
    lacking = {name: cls for name, cls in frameworks.items() if cls.compiled_mode is None}
    if lacking and not every:
        one = len(lacking) == 1
        raise ModeError(f"--mode compiled: {', '.join(lacking)} {'offers' if one else 'offer'} no compiled mode; run "
                        f"{'it' if one else 'them'} with --mode eager, or use --framework all, which leaves out the "
                        "compiled jobs of frameworks without one.")
    if modes == ["compiled"] and len(lacking) == len(frameworks):
        raise ModeError(f"--mode compiled: none of {', '.join(frameworks)} offers a compiled mode; run with --mode eager.")
    return {name: f"{name}: compiled job left out, the plugin offers no compiled mode"
                  + (f"; its eager step is already compiled by {cls.eager_compiled_by}" if cls.eager_compiled_by else "")
            for name, cls in lacking.items()}


def plan_jobs(networks: list[Network], options: RunOptions) -> list[Job]:
    """Every job, ordered by network (as given), then seed, thread count, framework and mode (as given);
    no compiled job for the frameworks of ``options.without_compiled``."""
    shared = options.model_dump(include=set(SHARED_FIELDS))
    jobs: list[Job] = []
    for network in networks:
        train = network.spec.train
        for seed in options.seeds if options.seeds is not None else [train.seed]:
            for threads in options.threads:
                for framework in options.frameworks:
                    for mode in options.modes:
                        if mode == "compiled" and framework in options.without_compiled:
                            continue
                        config = TrainConfig(
                            framework=framework, mode=mode, spec=network.path, variant=network.variant,
                            spec_digest=spec_digest(network), seed=seed, epochs=options.epochs or train.epochs,
                            batch_size=options.batch_size or train.batch_size, init=options.init or train.init,
                            threads=threads, **shared,
                        )
                        jobs.append(Job(network, config, by_threads=options.several_threads))
    return jobs


def saving_weights(job: Job, out: Path) -> Job:
    """``job`` writing its trained weights to ``<out>/weights/<job's file name>.npz``."""
    path = (Path(out) / WEIGHTS_FOLDER / Path(job.file_name).with_suffix(".npz").name).resolve()
    return dataclasses.replace(job, config=job.config.model_copy(update={"save_weights": str(path)}))
