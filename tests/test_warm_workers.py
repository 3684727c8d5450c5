"""Warm workers: counting and parity of many networks share one worker per framework, a network
that kills its worker fails alone, and timed training keeps a fresh worker per job (no Ray needed).

The jobs run in the fake framework plugin (tests/fixtures/run_fake_plugin.py): ``fake_warm``
records its worker's process id, kills itself building a spec named ``doomed`` and hangs building
one named ``stuck``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import main
from harness.plugins import discover
from harness.runner.child import LocalExecutor
from harness.runner.executor import run_all
from harness.runner.jobs import RunOptions, plan_jobs
from harness.runner.params import count_in_workers
from harness.runner.protocol import InfoRequest, ParamsRequest, ResolvedNetwork, TrainResult
from harness.runner.threads import XLA_QUICK_COMPILE_FLAGS
from harness.spec import Network, load_network
from run_support import TINY_SPEC

pytestmark = pytest.mark.usefixtures("fake_plugin")


def networks(folder: Path, *names: str) -> list[Network]:
    """One tiny network per name (the spec's name is the network's)."""
    loaded = []
    for name in names:
        path = folder / f"{name}.yaml"
        path.write_text(TINY_SPEC.format(lr=0.1).replace("name: tiny", f"name: {name}"))
        loaded.append(load_network(path))
    return loaded


def worker_pid(count: object) -> int:
    return count.effective_settings["runtime"]["pid"].value  # type: ignore[attr-defined]


def test_one_warm_worker_counts_every_network_and_a_crash_loses_only_its_network(tmp_path: Path) -> None:
    counts, thread_settings = count_in_workers(networks(tmp_path, "first", "second", "doomed", "third", "fourth"),
                                               ["fake_warm", "fake"], LocalExecutor(discover()), threads=1, device="cpu",
                                               timeout=120)
    warm = counts["fake_warm"]
    assert [count.status for count in warm] == ["ok", "ok", "failed", "ok", "ok"]
    assert "killed by signal 9" in (warm[2].error or "")
    assert worker_pid(warm[0]) == worker_pid(warm[1]), "the networks before the crash shared one worker"
    assert worker_pid(warm[3]) == worker_pid(warm[4]) != worker_pid(warm[0]), "a fresh worker served the rest"
    assert [count.status for count in counts["fake"]] == ["ok"] * 5
    assert thread_settings == {"fake_warm": {"threads": 1}, "fake": {"threads": 1}}


def test_a_network_past_its_timeout_fails_alone(tmp_path: Path) -> None:
    counts, _ = count_in_workers(networks(tmp_path, "first", "stuck", "second"), ["fake_warm"], LocalExecutor(discover()),
                                 threads=1, device="cpu", timeout=15)
    assert [count.status for count in counts["fake_warm"]] == ["ok", "failed", "ok"]
    assert "15 s timeout" in (counts["fake_warm"][1].error or "")


def test_params_command_reports_the_crashed_network_and_the_others(tmp_path: Path) -> None:
    specs = [network.path for network in networks(tmp_path, "first", "doomed", "second")]
    result = CliRunner().invoke(main, ["params", *specs, "--framework", "fake_warm", "--json"])
    assert result.exit_code == 1, result.output
    assert '"status": "failed"' in result.output and result.output.count('"status": "ok"') == 2


def test_timed_training_jobs_each_get_a_fresh_worker(tmp_path: Path) -> None:
    [network] = networks(tmp_path, "tiny")
    jobs = plan_jobs([network], RunOptions(frameworks=["fake_warm"], seeds=[0, 1], epochs=1, threads=1, warmup_steps=0,
                                           latency_repeats=3))
    requests = [job.request() for job in jobs]
    outcomes = run_all(LocalExecutor(discover()), [*requests, InfoRequest(framework="fake", threads=1)], timeout=120)
    assert all(isinstance(outcome.result, TrainResult) for outcome in outcomes[:2])
    assert worker_pid(outcomes[0].result) != worker_pid(outcomes[1].result)
    assert outcomes[2].status == "ok" and outcomes[2].node is not None


def test_only_workers_that_count_parameters_skip_compiler_optimisations(tmp_path: Path) -> None:
    """Counting keeps nothing a compiler computes but shapes; parity and timed jobs keep XLA's optimisations."""
    executor = LocalExecutor(discover())
    [network] = networks(tmp_path, "tiny")
    counting = executor.environment(ParamsRequest(framework="fake", networks=[ResolvedNetwork.of(network)]))
    assert set(XLA_QUICK_COMPILE_FLAGS) <= set(counting["XLA_FLAGS"].split())
    [job] = plan_jobs([network], RunOptions(frameworks=["fake"], epochs=1, threads=1))
    for request in (job.request(), InfoRequest(framework="fake")):
        assert not set(XLA_QUICK_COMPILE_FLAGS) & set(executor.environment(request).get("XLA_FLAGS", "").split())
