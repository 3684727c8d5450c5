"""Compiled mode: XLA, through ``jit_compile=True`` on the traced training step and forward pass.

The plugin already traces both with ``tf.function``; compiled mode re-wraps the same Python
functions with the same input signatures and ``jit_compile=True``, so the one difference from
eager mode is XLA. XLA compiles once per concrete input shape (a last partial batch compiles
again); an op XLA cannot compile fails the first call with XLA's message.
"""

from __future__ import annotations

import os
from typing import Any

from tensorflow.python.framework import (
    config as tf_config,  # the only switch that turns op determinism off
)

from harness.framework import EffectiveSettings, Setting
from harness_keras.build import KerasNetwork
from harness_keras.runtime import tf
from harness_keras.train import Trainer

OPTIONS: dict[str, Any] = {"jit_compile": True, "reduce_retracing": True}
"""The ``tf.function`` arguments of the compiled training step and forward pass."""
DESCRIPTION = "tf.function(jit_compile=True) (XLA) on the training step and the inference forward pass"


def configure() -> None:
    """Turn TensorFlow's op determinism off: with it on, tf2xla refuses to compile some gradients
    (MaxPool's: "do not yet have a deterministic XLA implementation"). XLA's CPU kernels do not
    depend on thread timing, and the seeds stay set; ``runtime.op_determinism`` reports the flag."""
    tf_config.disable_op_determinism()


def _jit(function: Any) -> Any:
    """The traced ``function`` traced again with XLA, keeping its input signature."""
    return tf.function(function.python_function, input_signature=function.input_signature, **OPTIONS)


def jit_forward(built: KerasNetwork) -> None:
    """Make ``built.forward`` (used by ``predict``) an XLA-compiled function."""
    built.model.jit_compile = True
    built.forward = _jit(built.forward)


def jit_trainer(trainer: Trainer) -> Trainer:
    """``trainer`` with its training step compiled by XLA."""
    return Trainer(trainer.optimizer, _jit(trainer.step))


def add_settings(settings: EffectiveSettings) -> None:
    """The exact compile options, in the ``compile`` group."""
    settings.add("compile", "function", Setting("tf.function", note=DESCRIPTION))
    for name, value in OPTIONS.items():
        settings.add("compile", name, Setting(value))
    settings.add("compile", "op_determinism", Setting(
        tf_config.is_op_determinism_enabled(),
        note="off in compiled mode: tf2xla cannot compile MaxPool's gradient with it on"))
    settings.add("compile", "XLA_FLAGS", Setting(os.environ.get("XLA_FLAGS", ""), default=True,
                                                 note="environment variable; empty: XLA's defaults"))
