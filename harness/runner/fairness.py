"""Whether a run's timings can be compared: the same hardware, and no job sharing its node."""

from __future__ import annotations

from harness.results import JobResult, Node

MEASURED = ("ok", "diverged")


def hardware(node: Node) -> str:
    """The CPU model, and the GPU for a cuda job: what makes timings comparable (not the host name)."""
    return node.cpu + (f" + {node.gpu}" if node.gpu else "")


def fairness_notes(jobs: list[JobResult]) -> list[str]:
    """Warnings for the report: per network, timings from different hardware, jobs that were not
    timing-grade (they shared their node with other jobs), and jobs run at a lowered priority."""
    notes: list[str] = []
    networks = list(dict.fromkeys(job.network for job in jobs))
    for network in networks:
        measured = [job for job in jobs if job.network == network and job.status in MEASURED]
        kinds = sorted({hardware(job.node) for job in measured if job.node is not None})
        if len(kinds) > 1:
            notes.append(f"{network}: timings come from different hardware ({'; '.join(kinds)}); "
                         "compare them only within one kind of machine.")
        shared = [job for job in measured if not job.timing_grade]
        if shared:
            which = ", ".join(f"{job.framework} seed {job.seed} ({job.node.concurrent_jobs if job.node else '?'} concurrent)"
                              for job in shared)
            notes.append(f"{network}: {len(shared)} job(s) shared their node with other jobs or were packed on purpose "
                         f"(--concurrency), so their timings are not timing-grade: {which}.")
        demoted = sorted({job.node.niceness for job in measured if job.node is not None and job.node.niceness > 0})
        if demoted:
            notes.append(f"{network}: some jobs ran at a lowered priority (niceness {', '.join(map(str, demoted))}; Ray's default "
                         "for its workers is 15), so any other process on their node came first; start the cluster with "
                         "RAY_worker_niceness=0 for timing-grade runs.")
    return notes
