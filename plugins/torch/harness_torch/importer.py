"""Reading a PyTorch ``state_dict`` for ``harness weights import`` (the ``torch`` weight reader).

SOURCE is a file written by ``torch.save(model.state_dict(), path)`` (``.pt``, ``.pth``, ``.bin``;
a checkpoint dict holding it under ``state_dict`` or ``model_state_dict`` works too). It is read
with ``torch.load(weights_only=True)``, which runs no pickled code. The tensors are grouped by
module (the key's prefix) in the order the ``state_dict`` lists them, which is the order the
modules were registered: an ``nn.Sequential``'s order, and the forward order of any model that
creates its modules in the order it runs them. A module with ``running_mean`` is a batch norm, a
4-D ``weight`` a conv (grouped by channel: a depthwise conv), a 2-D ``weight`` a linear layer.
A ``state_dict`` holds no batch-norm epsilon and cannot run, so the spec's epsilon is taken as
written and no logits are compared here (compare them with the weights loaded: `harness parity`).
Torch is imported here only, when the reader runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from harness.neutral.conversion import ConversionError, SourceLayer, SourceModel, WeightReader
from harness.spec import Network

SUFFIXES = (".pt", ".pth", ".bin")
NESTED = ("state_dict", "model_state_dict", "model")
IGNORED = ("num_batches_tracked",)


def accepts(source: str) -> bool:
    return Path(source).suffix.lower() in SUFFIXES


def _state_dict(source: str) -> Mapping[str, Any]:
    import torch

    if not Path(source).is_file():
        raise ConversionError(f"{source} does not exist.", "give the path of a file written by torch.save(model.state_dict(), path).")
    try:
        loaded = torch.load(source, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - a file torch refuses, told to the user
        raise ConversionError(f"torch.load(weights_only=True) refused {source} ({type(exc).__name__}: "
                              f"{str(exc).splitlines()[0] if str(exc) else ''}).",
                              "save the state_dict, not the whole model: torch.save(model.state_dict(), path).") from None
    for key in NESTED:
        if isinstance(loaded, Mapping) and isinstance(loaded.get(key), Mapping):
            loaded = loaded[key]
    if not isinstance(loaded, Mapping) or not all(isinstance(v, torch.Tensor) for v in loaded.values()):
        raise ConversionError(f"{source} holds no state_dict (a mapping of names to tensors).",
                              "save it with torch.save(model.state_dict(), path).")
    return loaded


def _module_layer(prefix: str, tensors: dict[str, np.ndarray]) -> SourceLayer:
    name = prefix or "(top level)"
    if "running_mean" in tensors:
        channels = tensors["running_mean"].shape[0]
        native = {"weight": tensors.get("weight", np.ones(channels, np.float32)),
                  "bias": tensors.get("bias", np.zeros(channels, np.float32)),
                  "running_mean": tensors["running_mean"], "running_var": tensors["running_var"]}
        return SourceLayer(name, "batch_norm", native, "channels_first", "BatchNorm")
    weight = tensors.get("weight")
    unknown = sorted(set(tensors) - {"weight", "bias"})
    if weight is None or unknown or weight.ndim not in (2, 4):
        shapes = ", ".join(f"{key} {value.shape}" for key, value in tensors.items())
        raise ConversionError(f"module '{name}' of the state_dict ({shapes}) is no conv, linear or batch-norm layer.",
                              "import a model built from nn.Conv2d, nn.Linear and nn.BatchNorm layers.")
    kind, type_name = ("conv", "Conv2d") if weight.ndim == 4 else ("dense", "Linear")
    return SourceLayer(name, kind, dict(tensors), "channels_first", type_name)


def read(source: str, network: Network) -> SourceModel:
    """The state_dict's layers in its order (see the module)."""
    modules: dict[str, dict[str, np.ndarray]] = {}
    for key, tensor in _state_dict(source).items():
        prefix, _, name = key.rpartition(".")
        if name in IGNORED:
            continue
        modules.setdefault(prefix, {})[name] = tensor.detach().cpu().numpy().astype(np.float32)
    layers = [_module_layer(prefix, tensors) for prefix, tensors in modules.items()]
    notes = ["a state_dict holds no batch-norm epsilon: the spec's is used as written"] if any(
        layer.kind == "batch_norm" for layer in layers) else []
    return SourceModel(f"PyTorch state_dict {source}", layers, None, notes)


READER = WeightReader("torch", "a PyTorch state_dict saved with torch.save (.pt, .pth, .bin)", accepts, read)
