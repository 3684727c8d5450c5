"""Plugin discovery: the plugin manager, entry points, and the framework registry."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import pluggy

from harness import hookspecs
from harness.framework import Framework


class PluginError(Exception):
    """A plugin that breaks the contract (duplicate name, wrong class)."""


@dataclass(frozen=True)
class Registered:
    """A framework class and the plugin that registered it."""

    framework: type[Framework]
    plugin: str


def plugin_manager(entry_points: bool = True) -> pluggy.PluginManager:
    """A plugin manager with the harness hooks, and every installed plugin loaded."""
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    if entry_points:
        manager.load_setuptools_entrypoints(hookspecs.ENTRY_POINT_GROUP)
    manager.check_pending()
    return manager


def _register(registry: dict[str, Registered], plugin: str, framework: type[Framework]) -> None:
    if not (isinstance(framework, type) and issubclass(framework, Framework)):
        raise PluginError(f"plugin '{plugin}' registered {framework!r}, which is not a subclass of harness.framework.Framework.")
    name = getattr(framework, "name", None)
    if not name:
        raise PluginError(f"plugin '{plugin}' registered {framework.__qualname__} without a 'name'.")
    if name in registry:
        first = registry[name]
        raise PluginError(
            f"two plugins register the framework name '{name}': '{first.plugin}' "
            f"({first.framework.__module__}.{first.framework.__qualname__}) and '{plugin}' "
            f"({framework.__module__}.{framework.__qualname__}). Uninstall one of them or rename one."
        )
    registry[name] = Registered(framework, plugin)


def frameworks(manager: pluggy.PluginManager | None = None) -> dict[str, Registered]:
    """Every registered framework by name, sorted, each with the plugin that registered it."""
    manager = manager or plugin_manager()
    registry: dict[str, Registered] = {}
    for impl in manager.hook.harness_register_frameworks.get_hookimpls():
        impl.function(register=partial(_register, registry, impl.plugin_name))
    return dict(sorted(registry.items()))


def framework_class(name: str, manager: pluggy.PluginManager | None = None) -> type[Framework]:
    """The framework class registered under ``name`` (in a worker, after discovery)."""
    registry = frameworks(manager)
    if name not in registry:
        raise PluginError(f"no plugin registers the framework '{name}'; installed: {', '.join(registry) or 'none'}.")
    return registry[name].framework
