"""The images the native scripts train on, written once to an ``.npz`` (``images``, ``labels``).

The native scripts themselves import nothing of the harness; only this driver-side helper uses
the harness's data loader (Fashion-MNIST when MNIST is missing), so both sides see the same images.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

NATIVE = Path(__file__).resolve().parent
SCRIPTS = {name: NATIVE / f"{name}_native.py" for name in ("keras", "torch", "paddle", "jax")}
SCRIPTS |= {f"keras-{backend}": SCRIPTS["keras"] for backend in ("torch", "jax")}
"""Framework (the harness's name) -> its native script; Keras on other backends is the same
script with ``KERAS_BACKEND`` set (:data:`KERAS_BACKENDS`)."""
KERAS_BACKENDS = {"keras-torch": "torch", "keras-jax": "jax"}
MODELS = {"lenet": "LeNet (E3a)", "e5a": "E5a MNIST CNN"}


def write_images(path: Path, dataset: str | None, limit: int, data_dir: str | None = None) -> str:
    """Write the first ``limit`` training images (28x28x1, in [0, 1]) of ``dataset`` (default:
    MNIST, else Fashion-MNIST) to ``path``; returns the data set's name."""
    from harness.data import load_data
    from harness.data.errors import DataError
    from harness.spec import schema

    names = [dataset] if dataset else ["mnist", "fashion-mnist"]
    for index, name in enumerate(names):
        try:
            data = load_data(schema.Dataset(name=name), (28, 28, 1), classes=10, data_dir=data_dir, seed=0,
                             limit_train=limit, limit_test=1)
        except DataError:
            if index == len(names) - 1:
                raise
            continue
        np.savez(path, images=data.train.fitted.astype(np.float32), labels=data.train.labels.astype(np.int64))
        return data.info.name
    raise AssertionError("unreachable")
