"""Compiled mode: ``paddle.jit.to_static``, the whole forward pass as one static program.

``full_graph=True`` converts ``forward`` by rewriting its Python source into a static program
(dy2static's AST path; ``False`` would use SOT, bytecode capture with fallbacks to dygraph), and
``backend=None`` runs that program with Paddle's own executor: the default ``CINN`` compiler is
not in the CPU wheels. Training runs the static program forward and its generated backward; the
optimizer step stays dygraph. A new input shape builds a new program; a network the converter
cannot handle fails its first call with Paddle's message.
"""

from __future__ import annotations

from typing import Any

from harness.framework import EffectiveSettings, Setting
from harness_paddle.runtime import paddle

OPTIONS: dict[str, Any] = {"full_graph": True, "backend": None}
"""The arguments of ``paddle.jit.to_static``."""
DESCRIPTION = "paddle.jit.to_static(model, full_graph=True, backend=None) on the forward pass"


class Compiled:
    """Each model converted once, on first use: the same layer, its ``forward`` made static."""

    def __init__(self) -> None:
        self.converted: dict[int, Any] = {}

    def __call__(self, model: Any) -> Any:
        if id(model) not in self.converted:
            self.converted[id(model)] = paddle.jit.to_static(model, **OPTIONS)
        return self.converted[id(model)]


def add_settings(settings: EffectiveSettings) -> None:
    """The exact conversion options, in the ``compile`` group."""
    settings.add("compile", "function", Setting("paddle.jit.to_static", note=DESCRIPTION))
    settings.add("compile", "full_graph", Setting(OPTIONS["full_graph"], note="True: AST conversion; False: SOT"))
    settings.add("compile", "backend", Setting(str(OPTIONS["backend"]), note="None: Paddle's executor (no CINN on CPU)"))
    settings.add("compile", "pir_api", Setting(bool(paddle.get_flags(["FLAGS_enable_pir_api"])["FLAGS_enable_pir_api"]),
                                               note="FLAGS_enable_pir_api: programs in Paddle's new IR"))
