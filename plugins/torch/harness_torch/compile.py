"""Compiled mode: ``torch.compile`` with the inductor backend (C++/OpenMP kernels on CPU).

The model is wrapped once; training and inference call the wrapper, which shares the model's
parameters, so the optimizer, the weights and ``layer_outputs`` (eager) see the same tensors.
Inductor needs a C++ compiler on CPU (``g++``); without one the first compiled call raises, and
the job fails with the compiler's message.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from harness.framework import EffectiveSettings, Setting

OPTIONS: dict[str, Any] = {"backend": "inductor", "mode": "default", "fullgraph": False, "dynamic": None}
"""The arguments of ``torch.compile``: inductor, default mode, graph breaks allowed, automatic dynamic shapes."""
DESCRIPTION = "torch.compile(model, backend='inductor') on the forward pass; autograd and the optimizer step stay eager"


class Compiled:
    """Each model's compiled wrapper, made on first use (compilation itself waits for the first call)."""

    def __init__(self, threads: int) -> None:
        import torch._inductor.config as inductor

        inductor.compile_threads = threads
        self.wrappers: dict[int, nn.Module] = {}

    def __call__(self, model: nn.Module) -> nn.Module:
        if id(model) not in self.wrappers:
            self.wrappers[id(model)] = torch.compile(model, **OPTIONS)
        return self.wrappers[id(model)]


def add_settings(settings: EffectiveSettings) -> None:
    """The exact compile options, in the ``compile`` group."""
    import torch._inductor.config as inductor

    settings.add("compile", "function", Setting("torch.compile", note=DESCRIPTION))
    for name, value in OPTIONS.items():
        settings.add("compile", name, Setting(value, default=name != "backend"))
    settings.add("compile", "inductor_compile_threads", Setting(inductor.compile_threads))
    settings.add("compile", "inductor_cpp_compiler", Setting(str(inductor.cpp.cxx[-1]), note="torch._inductor.config.cpp.cxx"))
