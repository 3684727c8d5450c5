"""The conformance kit's pytest plugin, registered through pytest's ``pytest11`` entry point.

It adds the kit's options and, when ``--harness-framework`` is given, sets the thread variables
before anything imports the framework, then checks that the framework is installed and usable::

    pytest --pyargs harness.testing.conformance --harness-framework NAME [--harness-device cuda]

Loaded by every pytest run in an environment where the harness is installed, so it imports
nothing heavy at import time and does nothing unless its option is given.

It also keeps CI from hiding a missing framework: with ``HARNESS_REQUIRE_FRAMEWORKS=keras,torch,paddle``
in the environment (``.ci/run`` sets it), every test or test folder skipped because one of those
frameworks is not installed (a skip whose reason says "not installed" or "unavailable" and names
it) is reported as a failure instead.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

import pytest

from harness.runner.threads import thread_environment

if TYPE_CHECKING:
    from harness.plugins import Registered

REQUIRE_ENV = "HARNESS_REQUIRE_FRAMEWORKS"
"""Comma-separated frameworks that must be installed: skipping for their absence fails."""
ALIASES: dict[str, tuple[str, ...]] = {"keras": ("keras", "tensorflow"), "torch": ("torch",), "paddle": ("paddle",)}
"""Words that name a framework in skip reasons (a framework not listed is named by its own name)."""
MISSING_WORDS = ("not installed", "unavailable")
NOT_INSTALLED = "its plugin is not installed"


def unavailable_reason(name: str, installed: Mapping[str, Registered]) -> str | None:
    """Why framework ``name`` cannot run here, for a test's skip (None: it can): its plugin is not among
    ``installed`` (``harness.plugins.frameworks()``), or the plugin's own reason. Either reason reads
    as a missing framework to :data:`REQUIRE_ENV`."""
    return NOT_INSTALLED if name not in installed else installed[name].unavailable_reason()


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


def required_frameworks() -> list[str]:
    """The frameworks ``HARNESS_REQUIRE_FRAMEWORKS`` names (none when unset)."""
    return [name.strip() for name in os.environ.get(REQUIRE_ENV, "").split(",") if name.strip()]


def missing_required(reason: str) -> str | None:
    """The required framework a skip reason says is missing, or None."""
    lowered = reason.lower()
    if not any(word in lowered for word in MISSING_WORDS):
        return None
    return next((name for name in required_frameworks()
                 if any(alias in lowered for alias in ALIASES.get(name, (name.lower(),)))), None)


def _fail_required_skip(report: pytest.TestReport | pytest.CollectReport) -> None:
    if not report.skipped or not isinstance(report.longrepr, tuple):
        return
    reason = str(report.longrepr[2])
    name = missing_required(reason)
    if name is not None:
        report.outcome = "failed"
        report.longrepr = f"{REQUIRE_ENV} requires {name}, but this was skipped: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    _fail_required_skip(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector):  # type: ignore[no-untyped-def]
    outcome = yield
    _fail_required_skip(outcome.get_result())
