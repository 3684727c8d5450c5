"""``harness run`` on a real two-node Ray cluster on this machine (``ray.cluster_utils.Cluster``).

Both nodes, and the harness joining them, stay on the loopback interface: the nodes are started
with ``node_ip_address=127.0.0.1``, and the harness runs with ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``,
under which Ray takes 127.0.0.1 as this machine's address (otherwise it rewrites a 127.0.0.1
cluster address to the network interface's and waits for a node there). The harness runs in a
process of its own, so this test does not meet the embedded Ray of ``test_run_ray``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import fake_plugin_paths
from plugin_support import ROOT, environment
from run_support import write_spec

pytestmark = pytest.mark.xdist_group("ray")  # one Ray at a time (make test: -n auto)

pytest.importorskip("ray")
LOOPBACK = "127.0.0.1"
ON_LOOPBACK = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}


@pytest.fixture
def two_nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A head and a worker node of one CPU each, their Ray workers seeing the fake plugin; the address."""
    from ray.cluster_utils import Cluster

    paths = fake_plugin_paths(tmp_path_factory.mktemp("cluster-fake"))
    before = dict(os.environ)
    os.environ["PYTHONPATH"] = os.pathsep.join(paths + [p for p in [before.get("PYTHONPATH")] if p])
    os.environ.update(ON_LOOPBACK)
    try:
        cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "node_ip_address": LOOPBACK,
                                                                "include_dashboard": False})
        cluster.add_node(num_cpus=1, node_ip_address=LOOPBACK)
        cluster.wait_for_nodes()
    finally:
        os.environ.clear()
        os.environ.update(before)
    yield cluster.address
    cluster.shutdown()


@pytest.mark.slow
def test_a_run_spreads_its_jobs_over_both_nodes_and_each_job_records_its_node(two_nodes: str, tmp_path: Path) -> None:
    assert two_nodes.startswith(f"{LOOPBACK}:")
    out = tmp_path / "out"
    env = environment(*map(Path, fake_plugin_paths(tmp_path / "driver"))) | ON_LOOPBACK
    done = subprocess.run(
        [sys.executable, "-m", "harness", "run", str(write_spec(tmp_path)), "--framework", "fake_slow", "--seeds", "0,1,2,3",
         "--threads", "1", "--quiet", "--no-report", "--warmup-steps", "0", "--latency-repeats", "3", "--executor", "ray",
         "--ray-address", two_nodes, "--out", str(out)],
        capture_output=True, text=True, timeout=300, cwd=ROOT, env=env,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    jobs = [json.loads(path.read_text()) for path in sorted((out / "jobs").glob("*.json"))]
    assert [job["status"] for job in jobs] == ["ok"] * 4
    nodes = {job["node"]["ray_node_id"] for job in jobs}
    assert len(nodes) == 2 and None not in nodes, nodes
    assert all(job["node"]["concurrent_jobs"] == 0 and job["timing_grade"] for job in jobs), "one CPU a node: no sharing"
