"""The one place that reads a run's results for the findings: :func:`facts` turns a
:class:`~harness.results.RunResults` into the plain figures the outcome and verdict rules need, so
those rules do not depend on how the results are typed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.findings.claims import Claim, claims_from
from harness.results import JobResult, NetworkCheck, RunResults, Timing
from harness.spec import SpecError, SpecErrors, load_networks


@dataclass(frozen=True)
class JobFacts:
    """What one job measured, as the findings read it."""

    network: str
    framework: str
    """The framework, with the mode when not eager (``torch:compiled``)."""
    seed: int
    status: str
    classes: int | None
    test_size: int | None
    train_losses: tuple[float, ...]
    test_losses: tuple[float, ...]
    accuracy: float | None
    """Final test accuracy."""
    params: int | None
    step_rounds: tuple[float, ...]
    """Independent step-time figures in ms: the job's round medians, or its median when it has no rounds."""
    latency_rounds: tuple[float, ...]
    """The same for batch-1 inference latency."""
    timing_flags: tuple[str, ...]
    """Why the job's timings are not to be trusted (noise flags, a shared node); empty when they are."""
    same_start: bool = False
    """The job started from weights every framework shares for its seed (``--init shared`` or a weight
    file), so its frameworks' runs of one seed are not independent of each other."""


@dataclass(frozen=True)
class RunFacts:
    jobs: tuple[JobFacts, ...]
    oracle: dict[str, dict[str, int | None]]
    """Network -> the oracle's ``params`` (total) and ``macs``."""
    claims: tuple[Claim, ...]
    claims_from: str
    """Where the findings came from: the results, or the spec files as they are now."""


def _classes(analysis: NetworkCheck | None) -> int | None:
    shape = analysis.layers[-1].output_shape if analysis is not None and analysis.layers else None
    return shape[-1] if shape and isinstance(shape[-1], int) and shape[-1] > 1 else None


def _rounds(timing: Timing | None) -> tuple[float, ...]:
    if timing is None:
        return ()
    return tuple(timing.rounds_ms) if len(timing.rounds_ms) > 1 else (timing.median_ms,)


def _claims(run: RunResults) -> tuple[tuple[Claim, ...], str]:
    """The run's findings: as its results record them (``networks[...].findings``), else from the
    spec files it names, read as they are now (results from before findings were recorded)."""
    recorded: dict[str, list[Claim]] = {}
    for key, analysis in sorted(run.networks.items()):
        spec = key.split(":", 1)[0]
        if analysis.findings is None or spec in recorded:
            continue
        recorded[spec] = claims_from(spec, ":" in key, [f.model_dump(exclude_none=True) for f in analysis.findings])
    if recorded:
        return tuple(claim for claims in recorded.values() for claim in claims), "the results"
    found: list[Claim] = []
    read = []
    for path in run.specs:
        try:
            networks = load_networks(Path(path))
        except (SpecError, SpecErrors, OSError):
            continue
        expect = networks[0].spec.expect
        findings = [f.model_dump(exclude_none=True) for f in expect.findings] if expect else []
        found += claims_from(networks[0].spec.name, networks[0].variant is not None, findings)
        read.append(path)
    return tuple(found), (f"{', '.join(read)} as it is now (these results do not record their findings)"
                          if read else "nowhere: the results record none and their spec files cannot be read")


def job_facts(run: RunResults, job: JobResult) -> JobFacts:
    """What ``job`` of ``run`` measured, as the findings read it."""
    analysis = run.networks.get(job.network)
    flags = list(job.noise_flags) + ([] if job.timing_grade else ["not timing-grade: the node was shared"])
    return JobFacts(
        network=job.network, framework=job.label, seed=job.seed, status=job.status, classes=_classes(analysis),
        test_size=job.data.test_size if job.data is not None and job.data.test_size else None,
        train_losses=tuple(e.train_loss for e in job.history),
        test_losses=tuple(e.test_loss for e in job.history if e.test_loss is not None),
        accuracy=job.final_test_accuracy, params=job.params.total if job.params else None,
        step_rounds=_rounds(job.step_time), latency_rounds=_rounds(job.latency_batch_1), timing_flags=tuple(flags),
        same_start=job.config.get("init", "framework") != "framework",
    )


def facts(run: RunResults) -> RunFacts:
    """Everything the findings read from ``run``."""
    jobs = tuple(job_facts(run, job) for job in run.jobs)
    oracle = {key: {"params": analysis.params.total if analysis.params else None, "macs": analysis.macs}
              for key, analysis in run.networks.items()}
    claims, source = _claims(run)
    return RunFacts(jobs, oracle, claims, source)
