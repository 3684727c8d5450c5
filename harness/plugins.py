"""Plugin discovery: the plugin manager, entry points, and the framework registry.

Every entry point of the ``harness`` group is loaded on its own: one that fails to import, or
whose hooks break the contract, is recorded as a :class:`BrokenPlugin` and left out, and the
others keep working. Two plugins that register one framework name are a :class:`PluginError`
naming both, since the harness could not tell which one a user means.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import partial

import pluggy

from harness import hookspecs
from harness.framework import Framework

ALL = "all"

BUILTIN_INSTALL: dict[str, str] = {
    "keras": "pip install -e plugins/keras",
    "keras-torch": "pip install -e plugins/keras torch",
    "keras-jax": "pip install -e plugins/keras jax",
    "torch": "pip install -e plugins/torch",
    "paddle": "pip install -e plugins/paddle",
}
"""The built-in plugins and the command that installs each (from the harness checkout)."""


class PluginError(Exception):
    """A plugin that breaks the contract (duplicate name, wrong class), or an unusable request."""


@dataclass(frozen=True)
class Registered:
    """A framework class and the plugin that registered it."""

    framework: type[Framework]
    plugin: str
    distribution: str | None = None
    distribution_version: str | None = None

    @property
    def origin(self) -> str:
        """``plugin (distribution version)``, for messages and tables."""
        if self.distribution is None:
            return self.plugin
        return f"{self.plugin} ({self.distribution} {self.distribution_version})"

    def unavailable_reason(self) -> str | None:
        """Why this framework cannot run here, or None; a failing check is itself the reason."""
        try:
            return self.framework.unavailable_reason()
        except Exception as exc:  # noqa: BLE001 - a plugin's own bug must not hide the others
            return f"its availability check failed: {type(exc).__name__}: {exc}"


@dataclass(frozen=True)
class BrokenPlugin:
    """A plugin that could not be loaded or whose hook failed, and why.

    ``name`` is the plugin's name (an entry point's name, which is usually the framework's).
    """

    name: str
    where: str
    distribution: str | None
    error: str

    @property
    def fix(self) -> str:
        """What a user can do about it."""
        if self.distribution is None:
            return "fix or remove the plugin."
        return f"reinstall or upgrade '{self.distribution}' (pip install --force-reinstall {self.distribution}), or uninstall it."


@dataclass
class Discovery:
    """What discovery found: the plugin manager, each framework by name, and broken plugins."""

    manager: pluggy.PluginManager
    frameworks: dict[str, Registered] = field(default_factory=dict)
    broken: list[BrokenPlugin] = field(default_factory=list)

    def broken_named(self, name: str) -> BrokenPlugin | None:
        """The broken plugin called ``name``, if any."""
        return next((plugin for plugin in self.broken if plugin.name == name), None)

    def classes(self, names: Iterable[str]) -> dict[str, type[Framework]]:
        """The framework class of each of ``names``, by name."""
        return {name: self.frameworks[name].framework for name in names}

    def missing_builtins(self) -> dict[str, str]:
        """Built-in frameworks no plugin provides (not even a broken one), with their install command."""
        return {
            name: command for name, command in BUILTIN_INSTALL.items()
            if name not in self.frameworks and self.broken_named(name) is None
        }


@dataclass(frozen=True)
class Selection:
    """The frameworks a command will use, and those it skips with the reason (``--framework all``)."""

    names: list[str]
    skipped: dict[str, str]


def _describe(entry_point: importlib.metadata.EntryPoint) -> str:
    return f"{entry_point.name} = {entry_point.value}"


def _distribution(entry_point: importlib.metadata.EntryPoint) -> tuple[str | None, str | None]:
    dist = entry_point.dist
    return (dist.name, dist.version) if dist is not None else (None, None)


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def new_manager() -> pluggy.PluginManager:
    """A plugin manager that knows the harness hooks and holds no plugin yet."""
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    return manager


def register_plugin(manager: pluggy.PluginManager, plugin: object, name: str) -> None:
    """Register ``plugin`` under ``name`` and check its hooks; on any violation it is unregistered.

    Raises :class:`pluggy.PluginValidationError` for a hook with a wrong signature or a
    ``@hookimpl`` function that matches no hook (a misspelling).
    """
    manager.register(plugin, name=name)
    try:
        manager.check_pending()
    except pluggy.PluginValidationError:
        manager.unregister(name=name)
        raise


Distributions = dict[str, tuple[str | None, str | None]]
"""Plugin name -> (distribution, version) of the package that provides it."""


def load_entry_points(manager: pluggy.PluginManager) -> tuple[list[BrokenPlugin], Distributions]:
    """Load every installed ``harness`` entry point into ``manager``.

    Returns the entry points that failed (with why) and the distribution of each one loaded.
    """
    entry_points = importlib.metadata.entry_points(group=hookspecs.ENTRY_POINT_GROUP)
    broken: list[BrokenPlugin] = []
    distributions: Distributions = {}
    for entry_point in entry_points:
        if manager.get_plugin(entry_point.name) is not None or manager.is_blocked(entry_point.name):
            continue
        dist = _distribution(entry_point)
        try:
            plugin = entry_point.load()
            register_plugin(manager, plugin, entry_point.name)
        except Exception as exc:  # noqa: BLE001 - one broken plugin must not hide the others
            where = f"entry point '{_describe(entry_point)}'"
            broken.append(BrokenPlugin(entry_point.name, where, dist[0], _error_text(exc)))
            continue
        distributions[entry_point.name] = dist
    return broken, distributions


def _register(registry: dict[str, Registered], plugin: str, dist: tuple[str | None, str | None], framework: type[Framework]) -> None:
    if not (isinstance(framework, type) and issubclass(framework, Framework)):
        raise PluginError(f"plugin '{plugin}' registered {framework!r}, which is not a subclass of harness.framework.Framework.")
    name = getattr(framework, "name", None)
    if not name:
        raise PluginError(f"plugin '{plugin}' registered {framework.__qualname__} without a 'name'.")
    candidate = Registered(framework, plugin, *dist)
    if name in registry:
        first = registry[name]
        raise PluginError(
            f"two plugins register the framework name '{name}': {first.origin}, class "
            f"{first.framework.__module__}.{first.framework.__qualname__}, and {candidate.origin}, class "
            f"{framework.__module__}.{framework.__qualname__}. Uninstall one of them or rename one."
        )
    registry[name] = candidate


def collect_frameworks(
    manager: pluggy.PluginManager, distributions: Distributions | None = None
) -> tuple[dict[str, Registered], list[BrokenPlugin]]:
    """Call every plugin's ``harness_register_frameworks``; a plugin whose hook raises is broken.

    Raises :class:`PluginError` when two plugins register one name or a plugin registers
    something that is not a framework class.
    """
    distributions = distributions or {}
    registry: dict[str, Registered] = {}
    broken: list[BrokenPlugin] = []
    for impl in manager.hook.harness_register_frameworks.get_hookimpls():
        dist = distributions.get(impl.plugin_name, (None, None))
        try:
            impl.function(register=partial(_register, registry, impl.plugin_name, dist))
        except PluginError:
            raise
        except Exception as exc:  # noqa: BLE001 - one broken plugin must not hide the others
            where = f"plugin '{impl.plugin_name}' (its harness_register_frameworks hook)"
            broken.append(BrokenPlugin(impl.plugin_name, where, dist[0], _error_text(exc)))
    return dict(sorted(registry.items())), broken


def discover(entry_points: bool = True, plugins: Iterable[tuple[str, object]] = ()) -> Discovery:
    """Load the installed plugins (and ``plugins``, as ``(name, plugin object)`` pairs) and collect frameworks."""
    manager = new_manager()
    for name, plugin in plugins:
        register_plugin(manager, plugin, name)
    broken, distributions = load_entry_points(manager) if entry_points else ([], {})
    registry, failed = collect_frameworks(manager, distributions)
    return Discovery(manager, registry, broken + failed)


def frameworks() -> dict[str, Registered]:
    """Every installed framework by name, sorted, each with the plugin that registered it."""
    return discover().frameworks


def not_installed_message(name: str, discovery: Discovery) -> str:
    """Why ``name`` cannot be used: its plugin is broken or absent; with how to install it."""
    installed = ", ".join(discovery.frameworks) or "none"
    broken = discovery.broken_named(name)
    if broken is not None:
        return f"the plugin for '{name}' failed to load ({broken.where}: {broken.error}); {broken.fix}"
    if name in BUILTIN_INSTALL:
        return (f"the framework '{name}' is not installed (no plugin provides it); install it with: "
                f"{BUILTIN_INSTALL[name]}. Installed: {installed}.")
    return (f"no installed plugin provides the framework '{name}'. Installed: {installed}. "
            "Check the spelling, or install the plugin package that provides it.")


def framework_class(name: str) -> type[Framework]:
    """The framework class registered under ``name`` by an installed plugin."""
    discovery = discover()
    if name not in discovery.frameworks:
        raise PluginError(not_installed_message(name, discovery))
    return discovery.frameworks[name].framework


def select_frameworks(requested: str, discovery: Discovery) -> Selection:
    """Resolve ``--framework`` (``all`` or comma-separated names) against what is installed.

    ``all`` takes every available framework and lists the rest (unavailable, broken plugins,
    built-ins not installed) as skipped with the reason. A named framework that is unknown or
    unavailable raises :class:`PluginError` saying how to install it.
    """
    names = list(dict.fromkeys(part.strip() for part in requested.split(",") if part.strip()))
    if not names:
        raise PluginError(f"--framework is empty; give '{ALL}' or names such as {', '.join(BUILTIN_INSTALL)}.")
    if ALL in names:
        if names != [ALL]:
            raise PluginError(f"--framework '{requested}' mixes '{ALL}' with names; give one or the other.")
        selected, skipped = [], {}
        for name, registered in discovery.frameworks.items():
            reason = registered.unavailable_reason()
            if reason is None:
                selected.append(name)
            else:
                skipped[name] = reason
        for plugin in discovery.broken:
            skipped[plugin.name] = f"the plugin failed to load ({plugin.where}: {plugin.error}); {plugin.fix}"
        for name, command in discovery.missing_builtins().items():
            skipped[name] = f"not installed; install it with: {command}"
        return Selection(selected, skipped)
    problems = []
    for name in names:
        registered = discovery.frameworks.get(name)
        if registered is None:
            problems.append(not_installed_message(name, discovery))
            continue
        reason = registered.unavailable_reason()
        if reason is not None:
            problems.append(f"the framework '{name}' is unavailable: {reason}")
    if problems:
        raise PluginError(" ".join(problems))
    return Selection(names, {})


def worker_environment(manager: pluggy.PluginManager, framework: str, threads: int, device: str) -> dict[str, str]:
    """The variables every plugin asks for in a worker's environment, merged (last registered wins)."""
    merged: dict[str, str] = {}
    for variables in reversed(manager.hook.harness_worker_environment(framework=framework, threads=threads, device=device)):
        merged.update({str(key): str(value) for key, value in variables.items()})
    return merged
