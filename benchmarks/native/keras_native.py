"""LeNet (E3a) and the E5a MNIST CNN written the way Keras users write them: a ``Sequential``
model, ``compile`` and ``fit``, on the backend ``KERAS_BACKEND`` names (TensorFlow by default;
``torch`` and ``jax`` for the harness's keras-torch and keras-jax). No harness import; the harness's benchmarks run this file in a
fresh process where only the thread count is set (``OMP_NUM_THREADS``, ``TF_NUM_INTRAOP_THREADS``...),
and anyone can run it::

    TF_NUM_INTRAOP_THREADS=2 python benchmarks/native/keras_native.py lenet DATA.npz --epochs 2
    KERAS_BACKEND=jax OMP_NUM_THREADS=2 python benchmarks/native/keras_native.py lenet DATA.npz
    TF_NUM_INTRAOP_THREADS=2 python benchmarks/native/keras_native.py lenet DATA.npz --compiled   # jit_compile=True (XLA)
    KERAS_BACKEND=torch python benchmarks/native/keras_native.py lenet DATA.npz --accuracy   # metrics=["accuracy"]

``--accuracy`` compiles the model with ``metrics=["accuracy"]``, as the Keras examples do: the
training accuracy of every batch, which the harness's step also counts (its Keras plugin on
PyTorch and JAX through the same metric).

``DATA.npz`` holds ``images`` (N, 28, 28, 1) float32 in [0, 1] and ``labels`` (N,) int. Prints one
JSON line: the median step time of each epoch (ms, between consecutive batch ends; first epoch =
warm-up), its seconds and, with ``--accuracy``, its training accuracy.
"""

from __future__ import annotations

import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
from keras import layers

from native_cli import parse_args  # beside this script


def lenet() -> keras.Model:
    """E3a as published (PaddlePaddle 2.0 LeNet, relu after the first pooling)."""
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(6, 5, padding="same", activation="relu"), layers.MaxPooling2D(2), layers.ReLU(),
        layers.Conv2D(16, 5), layers.MaxPooling2D(2),
        layers.Flatten(), layers.Dense(120, activation="relu"), layers.Dense(84, activation="relu"), layers.Dense(10),
    ])


def mnist_cnn() -> keras.Model:
    """E5a, the course's Keras MNIST CNN (softmax folded into the loss)."""
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(32, 3, activation="relu"), layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Dropout(0.25), layers.Flatten(), layers.Dense(128, activation="relu"), layers.Dropout(0.5), layers.Dense(10),
    ])


class StepTimes(keras.callbacks.Callback):
    """Seconds between consecutive batch ends (a step each), per epoch."""

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.last, self.steps = time.perf_counter(), []

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        now = time.perf_counter()
        self.steps.append(now - self.last)
        self.last = now


def main() -> None:
    args = parse_args(__doc__, accuracy=True)
    keras.utils.set_random_seed(args.seed)
    data = np.load(args.data)
    if args.model == "lenet":
        model, batch_size, optimizer = lenet(), 64, keras.optimizers.Adam(0.001, epsilon=1e-8)
    else:
        model, batch_size, optimizer = mnist_cnn(), 128, keras.optimizers.Adadelta(1.0, rho=0.95, epsilon=1e-7)
    batch_size = args.batch_size or batch_size
    if args.compiled and keras.backend.backend() != "tensorflow":
        raise SystemExit("--compiled: jit_compile=True is TensorFlow's XLA here; other backends have no compiled mode")
    model.compile(optimizer=optimizer, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"] if args.accuracy else None, jit_compile=True if args.compiled else "auto")
    timer, epochs = StepTimes(), []
    for _ in range(args.epochs):
        began = time.perf_counter()
        history = model.fit(data["images"], data["labels"], batch_size=batch_size, epochs=1, shuffle=True, verbose=0,
                            callbacks=[timer])
        epochs.append({"step_ms": 1000 * float(np.median(timer.steps[1:] or timer.steps)),
                       "seconds": time.perf_counter() - began, "steps": len(timer.steps)}
                      | ({"accuracy": history.history["accuracy"][-1]} if args.accuracy else {}))
    backend = keras.backend.backend()
    print(json.dumps({"framework": "keras" if backend == "tensorflow" else f"keras-{backend}", "compiled": args.compiled,
                      "model": args.model, "batch_size": batch_size, "epochs": epochs}), flush=True)


if __name__ == "__main__":
    main()
