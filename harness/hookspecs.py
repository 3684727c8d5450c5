"""The plugin contract: the hooks a harness plugin may implement.

A plugin is any installable package that declares an entry point in the group
:data:`ENTRY_POINT_GROUP` pointing at a module (or object) with ``@hookimpl``-decorated functions::

    [project.entry-points.harness]
    myframework = "harness_myframework.plugin"

The harness loads every such entry point when a command starts, with no change to the harness
itself (:mod:`harness.plugins`). An entry point that fails to import is reported by
``harness frameworks`` and skipped; the other plugins keep working.

Hooks are grouped by the stage at which the harness calls them; every hook is optional, and a
hook function may declare only the arguments it uses (pluggy passes them by name). A ``@hookimpl``
function whose name matches no hook below makes its plugin broken
(:meth:`pluggy.PluginManager.check_pending`), so a misspelt hook never goes silently unused.

The framework itself is driven through the class a plugin registers, a subclass of
:class:`harness.framework.Framework`: its methods are the contract for building, counting,
training, timing, and loading or exporting weights.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from harness.neutral.conversion import WeightReader
    from harness.framework import Framework

PROJECT = "harness"
ENTRY_POINT_GROUP = "harness"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# -------------------------------------------------------------------------------------------------
# Discovery hooks: called when a command starts, in the harness's own process (and again inside
# each worker subprocess, to find the class the worker instantiates).
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


# -------------------------------------------------------------------------------------------------
# Worker hooks: called in the harness's own process just before it starts a worker subprocess.
# -------------------------------------------------------------------------------------------------


@hookspec
def harness_worker_environment(framework: str, threads: int, device: str) -> dict[str, str] | None:
    """Environment variables to set in a worker before it starts (so before any framework import).

    :param framework: The ``name`` of the framework the worker will run.
    :param threads: The thread count the worker must respect.
    :param device: The device the worker will use (``cpu``, ``cuda``).
    :return: Variables to add to the worker's environment, or None to add nothing.

    The harness already sets the common thread variables (``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``,
    TensorFlow's and Paddle's; see :mod:`harness.runner.threads`). Use this hook for what only a
    plugin knows: a framework's own thread or device variables (``XLA_FLAGS``,
    ``CUDA_VISIBLE_DEVICES``...). It is called for every worker, whichever plugin provides its
    framework, so a plugin returns None for frameworks it does not care about. Every plugin's
    variables are merged; where two set the same variable, the plugin registered last wins.
    """


# -------------------------------------------------------------------------------------------------
# Weight hooks: called in the harness's own process by `harness weights import`.
# -------------------------------------------------------------------------------------------------


@hookspec
def harness_weight_readers(register: Callable[[WeightReader], None]) -> None:
    """Register readers of trained models, for ``harness weights import``.

    :param register: Call it once per :class:`harness.neutral.conversion.WeightReader`: a ``name`` (the
        ``--reader`` value), a one-line ``description``, ``accepts(source)`` (whether the reader
        takes the command's SOURCE, a path or a name such as ``keras.applications.MobileNetV2``)
        and ``read(source, network)``, which returns a :class:`harness.neutral.conversion.SourceModel`:
        the model's weighted layers in the order it runs them, each a
        :class:`harness.neutral.conversion.SourceLayer` (its name, kind, tensors and layout), and the
        model's own ``predict`` (NHWC float32 images to logits) where it can run one.

    The harness does the rest, the same for every reader (:mod:`harness.neutral.conversion`): it matches
    the layers with the spec's in order, checks each pair, converts channels-first tensors and
    flatten orders, compares the model's logits with the reference's, and writes the file. The
    hook runs in the harness's own process: ``read`` may import the framework, the hook's module
    may not (import it inside ``read``).
    """
