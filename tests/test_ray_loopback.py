"""The embedded Ray of ``harness run --executor ray`` (no ``--ray-address``) is reachable from this
machine only, and only with its token: every socket any Ray process listens on is a loopback one."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import psutil
import pytest

from harness.runner.ray_embedded import (
    AUTH_MODE_ENV,
    LOCAL_ONLY_ENV,
    TOKEN_ENVS,
    UnsafeRay,
    is_loopback,
    start_embedded,
    turn_on_authentication,
)
from run_support import write_spec

pytestmark = pytest.mark.xdist_group("ray")  # one Ray at a time (make test: -n auto)

ROOT = Path(__file__).resolve().parents[1]


def listening(process: psutil.Process) -> list[tuple[str, int]]:
    """The addresses ``process`` listens on (TCP), none when it is gone."""
    try:
        return [(c.laddr.ip, c.laddr.port) for c in process.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]
    except psutil.Error:
        return []


def ray_processes(driver: psutil.Process) -> list[psutil.Process]:
    """The driver and every process under it (GCS, raylet, agents, Ray workers, the job's worker)."""
    try:
        return [driver, *driver.children(recursive=True)]
    except psutil.Error:
        return []


def names(processes: list[psutil.Process]) -> set[str]:
    found = set()
    for process in processes:
        try:
            found.add(process.name())
        except psutil.Error:
            pass
    return found


def test_an_embedded_ray_listens_on_loopback_only(tmp_path: Path, fake_plugin: None) -> None:
    """While a job runs (it hangs until its timeout, 10 s from its start: the sockets are read the
    moment its worker is seen), read the listening sockets of Ray's processes."""
    pytest.importorskip("ray")
    temp = tempfile.mkdtemp(prefix="hray", dir="/tmp")  # Ray's socket paths have a length limit
    env = {name: value for name, value in os.environ.items() if name not in (LOCAL_ONLY_ENV, AUTH_MODE_ENV, *TOKEN_ENVS)}
    env["RAY_TMPDIR"] = temp
    command = [sys.executable, "-m", "harness", "run", str(write_spec(tmp_path)), "--framework", "fake_hang", "--quiet",
               "--executor", "ray", "--threads", "1", "--timeout", "10", "--no-report", "--out", str(tmp_path / "out")]
    driver = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    sockets: dict[str, set[tuple[str, int]]] = {}
    try:
        watched = psutil.Process(driver.pid)
        deadline = time.monotonic() + 120
        while driver.poll() is None and time.monotonic() < deadline:
            processes = ray_processes(watched)
            for process in processes:
                with_name = names([process])
                for address in listening(process):
                    sockets.setdefault(next(iter(with_name), str(process.pid)), set()).add(address)
            if {"gcs_server", "raylet"} <= names(processes) and any("harness.runner.worker" in " ".join(p.cmdline())
                                                                   for p in processes[1:] if p.is_running()):
                break
            time.sleep(0.5)
        output = driver.communicate(timeout=180)[0]
    finally:
        if driver.poll() is None:
            driver.kill()
        shutil.rmtree(temp, ignore_errors=True)
    assert driver.returncode == 1, output  # the hung job is recorded as a timeout
    assert {"gcs_server", "raylet"} <= set(sockets), sockets
    exposed = {name: sorted(a for a in addresses if not is_loopback(a[0])) for name, addresses in sockets.items()}
    assert not any(exposed.values()), f"Ray listens beyond loopback: {exposed}"


@pytest.mark.parametrize(("host", "loopback"), [("127.0.0.1", True), ("::1", True), ("::ffff:127.0.0.1", True),
                                                ("0.0.0.0", False), ("::", False), ("192.0.2.2", False),
                                                ("localhost", True), ("ray-head", False)])
def test_loopback_addresses_are_told_apart(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_authentication_is_turned_on_with_a_fresh_token_unless_the_user_chose(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (AUTH_MODE_ENV, *TOKEN_ENVS):
        monkeypatch.delenv(name, raising=False)
    turn_on_authentication()
    first = os.environ[TOKEN_ENVS[0]]
    assert os.environ[AUTH_MODE_ENV] == "token" and len(first) == 64
    monkeypatch.delenv(AUTH_MODE_ENV)
    monkeypatch.setenv(TOKEN_ENVS[0], "the user's own")
    turn_on_authentication()
    assert os.environ[AUTH_MODE_ENV] == "token" and os.environ[TOKEN_ENVS[0]] == "the user's own"
    monkeypatch.setenv(AUTH_MODE_ENV, "disabled")
    monkeypatch.delenv(TOKEN_ENVS[0])
    turn_on_authentication()
    assert os.environ[AUTH_MODE_ENV] == "disabled" and TOKEN_ENVS[0] not in os.environ


class FakeRay(SimpleNamespace):
    """What :func:`start_embedded` calls on Ray, recording it; its node is at ``address``."""

    def __init__(self, version: str, address: str) -> None:
        super().__init__(__version__=version, address=address, calls=[])

    def init(self, **options: object) -> None:
        self.calls.append(("init", options))

    def nodes(self) -> list[dict[str, str]]:
        return [{"NodeManagerAddress": self.address}]

    def shutdown(self) -> None:
        self.calls.append(("shutdown", {}))


def test_a_ray_without_authentication_is_refused() -> None:
    ray = FakeRay("2.51.1", "127.0.0.1")
    with pytest.raises(UnsafeRay, match="Ray 2.51.1 has no authentication"):
        start_embedded(ray)
    assert ray.calls == []


def test_an_embedded_ray_that_came_up_off_loopback_is_stopped() -> None:
    ray = FakeRay("2.60.0", "192.0.2.2")
    with pytest.raises(UnsafeRay, match=f"came up on 192.0.2.2, not on loopback only.*{LOCAL_ONLY_ENV}=0"):
        start_embedded(ray)
    assert [name for name, _ in ray.calls] == ["init", "shutdown"]
    assert ray.calls[0][1]["include_dashboard"] is False and ray.calls[0][1]["_node_ip_address"] == "127.0.0.1"
