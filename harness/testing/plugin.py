"""The conformance kit's pytest plugin, registered through pytest's ``pytest11`` entry point.

It adds the kit's options and, when ``--harness-framework`` is given, sets the thread variables
before anything imports the framework, then checks that the framework is installed and usable::

    pytest --pyargs harness.testing.conformance --harness-framework NAME [--harness-device cuda]

Loaded by every pytest run in an environment where the harness is installed, so it imports
nothing heavy at import time and does nothing unless its option is given.
"""

from __future__ import annotations

import os

import pytest

from harness.runner.threads import thread_environment

KIT_THREADS = 1
"""The thread count the kit runs every framework with (and checks it reports)."""

FRAMEWORK_OPTION = "--harness-framework"
DEVICE_OPTION = "--harness-device"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "harness plugin conformance kit (harness.testing.conformance)")
    group.addoption(FRAMEWORK_OPTION, metavar="NAME", default=None,
                    help="the framework (as registered by its plugin) the conformance kit tests.")
    group.addoption(DEVICE_OPTION, metavar="DEVICE", default="cpu", help="the device it runs on (default: cpu).")


def framework_option(config: pytest.Config) -> str | None:
    """The value of ``--harness-framework`` (None when absent or the plugin is not loaded)."""
    return config.getoption(FRAMEWORK_OPTION, default=None)


def device_option(config: pytest.Config) -> str:
    """The value of ``--harness-device``."""
    return config.getoption(DEVICE_OPTION, default="cpu")


def pytest_configure(config: pytest.Config) -> None:
    name = framework_option(config)
    if name is None:
        return
    os.environ.update(thread_environment(KIT_THREADS, base={}))
    from harness.plugins import ALL, PluginError, discover, select_frameworks

    if name == ALL or "," in name:
        raise pytest.UsageError(f"{FRAMEWORK_OPTION} takes one framework name, not '{name}'; run the kit once per framework.")
    try:
        select_frameworks(name, discover())
    except PluginError as exc:
        raise pytest.UsageError(f"{FRAMEWORK_OPTION} {name}: {exc}") from None
