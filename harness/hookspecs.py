"""The plugin contract: the hooks a harness plugin may implement.

A plugin is any installable package that declares an entry point in the group
:data:`ENTRY_POINT_GROUP` pointing at a module (or object) with ``@hookimpl``-decorated functions::

    [project.entry-points.harness]
    myframework = "harness_myframework.plugin"

The harness loads every such entry point at start-up, with no change to the harness itself.
Hooks are grouped by the stage at which the harness calls them; every hook is optional.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from harness.framework import Framework

PROJECT = "harness"
ENTRY_POINT_GROUP = "harness"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# -------------------------------------------------------------------------------------------------
# Discovery hooks: called once when the harness starts, in the harness's own process.
# -------------------------------------------------------------------------------------------------


@hookspec
def harness_register_frameworks(register: Callable[[type[Framework]], None]) -> None:
    """Register the framework classes this plugin provides.

    :param register: Call it once per class, ``register(MyFramework)``. The class must subclass
        :class:`harness.framework.Framework` and set a ``name`` no other plugin uses; two plugins
        registering one name is an error that names both.

    Called in the harness's own process, which must stay free of any framework: the module that
    holds this hook, and the class body, must not import the framework at import time (import it
    inside the methods that run in the worker subprocess).
    """
