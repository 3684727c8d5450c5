"""Training and inference on graphs traced once: the fast path, as quick as ``model.fit``.

The model is compiled with the spec's optimizer and loss (so ``model.fit`` and ``model.optimizer``
work as usual), but trains through the plugin's own step, without the per-call overhead of
``train_on_batch`` and its running metrics: the loss, the gradients, the update and the batch's
correct count together. On TensorFlow the step is one ``tf.function``; on JAX one ``jax.jit`` step
on values held between batches (:mod:`harness_keras.jax_step`); on PyTorch an eager step
(:mod:`harness_keras.torch_step`), as PyTorch's backend of Keras has no compiled mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.spec import schema
from harness.spec.schema import Train
from harness_keras.backends import JAX, TORCH
from harness_keras.build import KerasNetwork
from harness_keras.runtime import BACKEND, keras, tf

LOSS_REDUCTION = "sum_over_batch_size"


def optimizer_arguments(optimizer: schema.Optimizer) -> tuple[type[keras.optimizers.Optimizer], dict[str, Any]]:
    """The Keras optimizer class for the neutral optimizer, and every hyperparameter, explicit."""
    name = optimizer.name
    if name in ("sgd", "momentum"):
        return keras.optimizers.SGD, {
            "learning_rate": optimizer.lr, "momentum": optimizer.momentum, "nesterov": optimizer.nesterov,
        }
    if name == "adam":
        return keras.optimizers.Adam, {
            "learning_rate": optimizer.lr, "beta_1": optimizer.beta1, "beta_2": optimizer.beta2,
            "epsilon": optimizer.epsilon, "amsgrad": False,
        }
    if name == "adadelta":
        return keras.optimizers.Adadelta, {"learning_rate": optimizer.lr, "rho": optimizer.rho, "epsilon": optimizer.epsilon}
    if name == "rmsprop":
        return keras.optimizers.RMSprop, {
            "learning_rate": optimizer.lr, "rho": optimizer.rho, "momentum": optimizer.momentum,
            "epsilon": optimizer.epsilon, "centered": optimizer.centered,
        }
    raise ValueError(f"the Keras plugin has no mapping for optimizer '{name}'")


OPTIMIZER_NEUTRAL_NAMES: dict[str, str] = {
    "learning_rate": "lr", "beta_1": "beta1", "beta_2": "beta2",
}
"""Keras hyperparameter name -> neutral name, where they differ."""


def make_optimizer(optimizer: schema.Optimizer) -> keras.optimizers.Optimizer:
    """A fresh Keras optimizer for the neutral one."""
    cls, arguments = optimizer_arguments(optimizer)
    return cls(**arguments)


def make_loss() -> keras.losses.Loss:
    """Softmax cross-entropy on logits with integer labels, averaged over the batch."""
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=LOSS_REDUCTION)


@dataclass
class Trainer:
    """The optimizer of a compiled model and its traced training step."""

    optimizer: keras.optimizers.Optimizer
    step: Any

    def run(self, images: np.ndarray, labels: np.ndarray) -> tuple[float, int]:
        """One optimisation step; the loss (batch mean) and the number of correct predictions."""
        loss, correct = self.step(np.asarray(images, dtype=keras.config.floatx()), np.asarray(labels, dtype=np.int64))
        return float(loss), int(correct)


def make_trainer(built: KerasNetwork, train: Train) -> Trainer:
    """Compile ``built.model`` for ``train`` and trace its training step."""
    model = built.model
    optimizer, loss_fn = make_optimizer(train.optimizer), make_loss()
    model.compile(optimizer=optimizer, loss=loss_fn, jit_compile=BACKEND == JAX)
    optimizer.build(model.trainable_variables)
    if BACKEND == JAX:
        from harness_keras.jax_step import StatelessStep

        return Trainer(optimizer, StatelessStep(built, optimizer, loss_fn))
    if BACKEND == TORCH:
        from harness_keras.torch_step import EagerStep

        return Trainer(optimizer, EagerStep(model, optimizer, loss_fn))
    variables = model.trainable_variables

    def step(images: tf.Tensor, labels: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        with tf.GradientTape() as tape:
            logits = model(images, training=True)
            loss = loss_fn(labels, logits)
        optimizer.apply(tape.gradient(loss, variables), variables)
        predicted = tf.argmax(logits, axis=-1, output_type=labels.dtype)
        return loss, tf.reduce_sum(tf.cast(tf.equal(predicted, labels), tf.int64))

    signature = built.input_signature() + [tf.TensorSpec((None,), tf.int64)]
    return Trainer(optimizer, tf.function(step, input_signature=signature, reduce_retracing=True))


def predict(built: KerasNetwork, images: np.ndarray) -> np.ndarray:
    """Logits in inference mode, from the traced forward pass."""
    built.sync_variables()
    return np.asarray(keras.ops.convert_to_numpy(built.forward(np.asarray(images, dtype=np.float32))), dtype=np.float32)


def layer_outputs(built: KerasNetwork, images: np.ndarray) -> dict[str, np.ndarray]:
    """Every neutral layer's output in inference mode, in execution order."""
    built.sync_variables()
    values = built.probe(np.asarray(images, dtype=np.float32))
    return {name: np.asarray(keras.ops.convert_to_numpy(value), dtype=np.float32)
            for name, value in zip(built.outputs, values, strict=True)}
