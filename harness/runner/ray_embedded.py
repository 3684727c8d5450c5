"""The embedded Ray of ``--executor ray`` without ``--ray-address``: loopback only, token-authenticated.

Ray binds its servers (GCS, raylet, object manager, workers, agents) to the node's address, and to
every interface when that address is not a loopback one. A local node takes the loopback address
only where Ray does not expect a cluster, which Ray decides from ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER``
when it is imported, as it reads whether token authentication is on (Ray 2.52 and later; on by
default for local instances from 2.59): so :func:`prepare_environment` sets both before the first
``import ray`` (authentication with a token made for this run, kept in the environment, not in
``~/.ray``), and :func:`start_embedded` checks the node it started and refuses to keep one that is
not on loopback.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from typing import Any

LOCAL_ONLY_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
"""Ray's switch (read when Ray is imported) that makes a new local node take the loopback address."""
AUTH_MODE_ENV = "RAY_AUTH_MODE"
TOKEN_ENVS = ("RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")
FIRST_AUTHENTICATED_RAY = (2, 52)
"""The first Ray with token authentication (every earlier one lets anyone who reaches a port run code)."""
EMBEDDED_CONFIG = {"worker_niceness": 0}
"""An embedded Ray does not lower its workers' priority (Ray's default adds niceness 15): the jobs run
at the niceness of ``harness run``."""


class UnsafeRay(RuntimeError):
    """The embedded Ray would be reachable from the network, or without authentication; says why."""


def prepare_environment() -> None:
    """Before Ray is imported: a local Ray node started by this process takes the loopback address,
    and requires a token."""
    os.environ[LOCAL_ONLY_ENV] = "0"
    turn_on_authentication()


def turn_on_authentication() -> None:
    """Token authentication for Ray started from now on, unless the user chose a mode
    (``RAY_AUTH_MODE``); the token is a fresh secret unless the user gave one."""
    if os.environ.get(AUTH_MODE_ENV) is not None:
        return
    os.environ[AUTH_MODE_ENV] = "token"
    if not any(os.environ.get(name) for name in TOKEN_ENVS):
        os.environ[TOKEN_ENVS[0]] = secrets.token_hex(32)


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an IP address, IPv4-mapped IPv6 included) is a loopback address."""
    try:
        address = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return host == "localhost"
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


def ray_version(ray: Any) -> tuple[int, int]:
    """(major, minor) of the Ray module ``ray``."""
    major, minor = (int(part) for part in ray.__version__.split(".")[:2])
    return major, minor


def start_embedded(ray: Any, **options: Any) -> None:
    """``ray.init`` a local instance with no dashboard, on loopback only, with authentication.

    ``options`` go to ``ray.init`` as well (tests give ``num_cpus`` and ``_temp_dir``). Raises
    :class:`UnsafeRay`, with Ray stopped, when the Ray installed has no authentication or the
    node came up on another address (Ray was imported before :func:`prepare_environment`).
    """
    if ray_version(ray) < FIRST_AUTHENTICATED_RAY:
        raise UnsafeRay(f"Ray {ray.__version__} has no authentication: anyone who reaches its ports can run code "
                        "(CVE-2023-48022). Install Ray 2.59 or later: pip install 'harness[ray]'.")
    ray.init(address="local", include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1",
             _system_config=EMBEDDED_CONFIG, **options)
    addresses = {node["NodeManagerAddress"] for node in ray.nodes()}
    if not all(is_loopback(address) for address in addresses):
        ray.shutdown()
        raise UnsafeRay(f"the embedded Ray came up on {', '.join(sorted(addresses))}, not on loopback only, so it was "
                        f"stopped: Ray was imported before the harness could set {LOCAL_ONLY_ENV}=0. Set it in the "
                        "environment of `harness run`, or start Ray yourself and pass --ray-address.")
