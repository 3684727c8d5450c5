"""Reading a trained Keras model for ``harness weights import`` (the ``keras`` weight reader).

SOURCE is a saved model (``.keras``, or a legacy ``.h5``/``.hdf5`` whole-model file) or a
``keras.applications`` constructor named as ``keras.applications.MobileNetV2``, built with
``weights="imagenet"``, ``include_top=False`` and the spec's input shape (Keras downloads the
weights once into ``~/.keras/models`` and uses that copy afterwards: this needs network access
the first time, and only here, never in a run). Nested models (a base model inside a
``Sequential``) are walked in order. Keras' tensors are already in the neutral layout: conv
kernels HWIO, depthwise ``(kh, kw, cin, mult)``, dense ``(in, out)`` with a flatten's rows in
(H, W, C) order. Keras is imported here only, when the reader runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from harness.neutral.conversion import ConversionError, SourceLayer, SourceModel, WeightReader
from harness.spec import Network

APPLICATIONS = "keras.applications."
SUFFIXES = (".keras", ".h5", ".hdf5")


def accepts(source: str) -> bool:
    """A saved Keras model, or ``keras.applications.NAME``."""
    return source.startswith(APPLICATIONS) or Path(source).suffix.lower() in SUFFIXES


def _load(source: str, network: Network) -> tuple[Any, str]:
    from harness_keras.runtime import keras

    if source.startswith(APPLICATIONS):
        name = source.removeprefix(APPLICATIONS)
        constructor = getattr(keras.applications, name, None)
        if constructor is None or not callable(constructor):
            raise ConversionError(f"keras.applications has no model '{name}'.",
                                  "name a model such as keras.applications.MobileNetV2.")
        height, width, channels = network.input_shape
        try:
            model = constructor(weights="imagenet", include_top=False, input_shape=(height, width, channels))
        except Exception as exc:  # noqa: BLE001 - a download or a constructor refusal, told to the user
            raise ConversionError(f"{source}(weights='imagenet') could not be built here ({type(exc).__name__}: {exc}).",
                                  "run the import once where the network is reachable (Keras caches the weights in "
                                  "~/.keras/models), or build the model there, save it with model.save('m.keras') "
                                  "and import that file.") from None
        return model, f"{source}(weights='imagenet', include_top=False)"
    if not Path(source).is_file():
        raise ConversionError(f"{source} does not exist.", "give the path of a saved Keras model (.keras or .h5).")
    try:
        model = keras.saving.load_model(source, compile=False)
    except Exception as exc:  # noqa: BLE001 - a file Keras cannot read, told to the user
        raise ConversionError(f"Keras could not load {source} ({type(exc).__name__}: {exc}).",
                              "save the whole model with model.save('m.keras') and import that file.") from None
    return model, f"Keras model {source}"


def _weighted(model: Any) -> list[Any]:
    """The layers holding weights, nested models walked in place."""
    layers: list[Any] = []
    for layer in model.layers:
        if getattr(layer, "layers", None):
            layers.extend(_weighted(layer))
        elif layer.weights:
            layers.append(layer)
    return layers


def _array(variable: Any) -> np.ndarray:
    return np.asarray(variable.numpy() if hasattr(variable, "numpy") else variable, dtype=np.float32)


def source_layer(layer: Any) -> SourceLayer:
    """One Keras layer's tensors under their neutral names."""
    from harness_keras.runtime import keras

    type_name = type(layer).__name__
    if getattr(layer, "data_format", "channels_last") != "channels_last":
        raise ConversionError(f"model layer '{layer.name}' ({type_name}) is channels-first.",
                              "rebuild the model with data_format='channels_last' (the neutral layout) and save it again.")
    if isinstance(layer, keras.layers.BatchNormalization):
        if layer.axis not in (-1, [-1], [3], 3):
            raise ConversionError(f"model layer '{layer.name}' (BatchNormalization) normalises axis {layer.axis}.",
                                  "import a model whose batch norms normalise the channels (the last axis).")
        channels = int(layer.moving_mean.shape[0])
        tensors = {"gamma": _array(layer.gamma) if layer.scale else np.ones(channels, np.float32),
                   "beta": _array(layer.beta) if layer.center else np.zeros(channels, np.float32),
                   "moving_mean": _array(layer.moving_mean), "moving_variance": _array(layer.moving_variance)}
        return SourceLayer(layer.name, "batch_norm", tensors, "channels_last", type_name, float(layer.epsilon))
    if isinstance(layer, keras.layers.DepthwiseConv2D):
        kind = "depthwise_conv"
    elif isinstance(layer, keras.layers.Conv2D) and not isinstance(layer, keras.layers.Conv2DTranspose):
        kind = "conv"
    elif isinstance(layer, keras.layers.Dense):
        kind = "dense"
    else:
        raise ConversionError(f"model layer '{layer.name}' ({type_name}) has weights that no neutral layer holds.",
                              "import a model built from Conv2D, DepthwiseConv2D, Dense and BatchNormalization layers.")
    tensors = {"kernel": _array(layer.kernel)}  # the neutral layout already (see the module)
    if getattr(layer, "bias", None) is not None:
        tensors["bias"] = _array(layer.bias)
    return SourceLayer(layer.name, kind, tensors, "channels_last", type_name)


def read(source: str, network: Network) -> SourceModel:
    """The model's weighted layers in order, and its inference-mode logits."""
    model, description = _load(source, network)
    layers = [source_layer(layer) for layer in _weighted(model)]

    def predict(images: np.ndarray) -> np.ndarray:
        from harness_keras.runtime import keras

        return keras.ops.convert_to_numpy(model(images, training=False))

    return SourceModel(description, layers, predict)


READER = WeightReader("keras", "a saved Keras model (.keras, .h5) or keras.applications.NAME", accepts, read)
