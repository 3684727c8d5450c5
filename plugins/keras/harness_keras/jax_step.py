"""Keras on JAX: one jitted stateless training step that keeps the model's state between batches.

Keras' ``train_on_batch`` on JAX gathers every variable's value before its step and assigns each
one back after it (``jax_state_sync``); ``fit`` does that once an epoch, and Keras' own source
calls doing it every step a bottleneck. This step does as ``fit`` does: from its first batch on it
holds the values (trainable, non-trainable including the dropout seeds, the optimizer's) as JAX
arrays, passes them through ``model.stateless_call`` and ``optimizer.stateless_apply`` under
``jax.jit`` (buffers donated; the first batch copies the variables' values), and writes them back
into the Keras variables only when something reads or sets the model
(:meth:`harness_keras.build.KerasNetwork.sync_variables`): the epoch's evaluation, an export, a
weight load, the settings.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from harness_keras.build import KerasNetwork
from harness_keras.runtime import keras

State = tuple[list[Any], list[Any], list[Any]]
"""The values of the model's trainable and non-trainable variables and of the optimizer's."""


class StatelessStep:
    """``step(images, labels) -> (loss, correct)`` on values held between calls; the optimizer comes built."""

    def __init__(self, built: KerasNetwork, optimizer: keras.optimizers.Optimizer, loss_fn: keras.losses.Loss) -> None:
        self.built = built
        self.optimizer = optimizer
        self.state: State | None = None
        model = built.model

        def loss_and_outputs(trainable: list[Any], non_trainable: list[Any], images: Any, labels: Any) -> Any:
            logits, non_trainable = model.stateless_call(trainable, non_trainable, images, training=True)
            return loss_fn(labels, logits), (logits, non_trainable)

        def step(state: State, images: Any, labels: Any) -> tuple[Any, Any, State]:
            trainable, non_trainable, optimizer_values = state
            gradient = jax.value_and_grad(loss_and_outputs, has_aux=True)
            (loss, (logits, non_trainable)), grads = gradient(trainable, non_trainable, images, labels)
            trainable, optimizer_values = optimizer.stateless_apply(optimizer_values, grads, trainable)
            correct = jnp.sum(jnp.argmax(logits, axis=-1) == labels)
            return loss, correct, (trainable, non_trainable, optimizer_values)

        self._step = jax.jit(step, donate_argnums=0)

    def __call__(self, images: Any, labels: Any) -> tuple[Any, Any]:
        if self.state is None:
            self.built.sync_variables()  # another holder's values first (a second trainer on the model)
            model = self.built.model
            self.state = jax.tree.map(jnp.copy, (  # copies: the step donates its buffers, the variables keep theirs
                [v.value for v in model.trainable_variables], [v.value for v in model.non_trainable_variables],
                [v.value for v in self.optimizer.variables]))
            self.built.state_holder = self
        loss, correct, self.state = self._step(self.state, images, labels)
        return loss, correct

    def write_back(self) -> None:
        """Assign the held values to the Keras variables and hold nothing (the next step gathers
        them again, so a weight load in between is seen)."""
        if self.state is None:
            return
        model = self.built.model
        trainable, non_trainable, optimizer_values = self.state
        self.state = None
        for variables, values in ((model.trainable_variables, trainable), (model.non_trainable_variables, non_trainable),
                                  (self.optimizer.variables, optimizer_values)):
            for variable, value in zip(variables, values, strict=True):
                variable.assign(value)
