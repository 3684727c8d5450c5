"""The optimizers of the spec language in optax, and one XLA-compiled training step.

Every hyperparameter is passed explicitly, in the neutral (Keras) convention, through
``optax.inject_hyperparams`` so that the optimizer's state holds them and the effective settings
read them back from it. How optax's rules compare with the neutral ones:

* sgd / momentum: optax's ``t = g + m t; w -= lr t`` equals the neutral ``v = m v - lr g`` at a
  constant learning rate; Nesterov likewise; momentum 0 is plain SGD.
* adam: optax adds ``eps`` to the bias-corrected ``sqrt(v)``; Keras adds it before the correction
  (the same difference as PyTorch's).
* adadelta: the same rule as Keras.
* rmsprop: ``eps`` under the square root (``eps_in_sqrt``) and a zero initial mean square, as in
  Keras; centered and momentum as in Keras.

The step computes the loss (softmax cross-entropy on logits, mean over the batch), the
gradients, the update, the new batch-norm statistics and the batch's correct count in one
``jax.jit`` function; its inputs' old state buffers are donated to the new state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from harness.spec import schema
from harness_jax.build import JaxNetwork, trainable_mask

OPTIMIZER_NEUTRAL_NAMES: dict[str, str] = {
    "learning_rate": "lr", "momentum": "momentum", "nesterov": "nesterov", "b1": "beta1", "b2": "beta2",
    "eps": "epsilon", "rho": "rho", "decay": "rho", "centered": "centered",
}
"""optax's argument -> the neutral field it comes from; the other arguments are fixed."""

OPTIMIZER_NOTES: dict[str, str] = {
    "sgd": "optax's t = g + m*t; w -= lr*t equals the neutral v = m*v - lr*g at a constant lr",
    "momentum": "optax's t = g + m*t; w -= lr*t equals the neutral v = m*v - lr*g at a constant lr",
    "adam": "optax adds eps to the bias-corrected sqrt(v); Keras adds it before the correction",
    "adadelta": "same update rule as Keras",
    "rmsprop": "eps under the square root and a zero initial mean square, as in Keras",
}


def optimizer_arguments(spec: schema.Optimizer) -> tuple[Callable[..., optax.GradientTransformation], dict[str, Any]]:
    """The optax optimizer for the neutral one and every argument it is given."""
    if spec.name in ("sgd", "momentum"):
        return optax.sgd, {"learning_rate": spec.lr, "momentum": spec.momentum, "nesterov": spec.nesterov}
    if spec.name == "adam":
        return optax.adam, {"learning_rate": spec.lr, "b1": spec.beta1, "b2": spec.beta2, "eps": spec.epsilon,
                            "eps_root": 0.0, "nesterov": False}
    if spec.name == "adadelta":
        return optax.adadelta, {"learning_rate": spec.lr, "rho": spec.rho, "eps": spec.epsilon, "weight_decay": 0.0}
    if spec.name == "rmsprop":
        return optax.rmsprop, {
            "learning_rate": spec.lr, "decay": spec.rho, "eps": spec.epsilon, "initial_scale": 0.0,
            "eps_in_sqrt": True, "centered": spec.centered, "momentum": spec.momentum, "nesterov": False,
            "bias_correction": False,
        }
    raise ValueError(f"the JAX plugin has no mapping for optimizer '{spec.name}'")


def make_optimizer(spec: schema.Optimizer) -> tuple[optax.GradientTransformation, dict[str, Any]]:
    """The optax optimizer with its numeric hyperparameters in its state, and its arguments."""
    factory, arguments = optimizer_arguments(spec)
    static = tuple(name for name, value in arguments.items() if isinstance(value, bool))
    return optax.inject_hyperparams(factory, static_args=static)(**arguments), arguments


def loss_function(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """Softmax cross-entropy on logits with integer labels, averaged over the batch."""
    return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()


@dataclass
class Trainer:
    """The network being trained, its optimizer's arguments and state, and the compiled step."""

    built: JaxNetwork
    arguments: dict[str, Any]
    opt_state: Any
    step: Any

    def run(self, images: np.ndarray, labels: np.ndarray) -> tuple[float, int]:
        """One optimisation step; the loss (batch mean) and the number of correct predictions.

        The batch goes to the step as NumPy arrays: jit places them on the device its committed state
        is on. An explicit ``jax.device_put`` of each batch first cost 3% of a LeNet step on CPU
        (``benchmarks/jax_step_paths.py``).
        """
        built = self.built
        built.params, built.rest, self.opt_state, loss, correct = self.step(
            built.params, built.rest, self.opt_state, np.asarray(images, dtype=built.dtype),
            np.asarray(labels, dtype=np.int32))
        return float(loss), int(correct)


def make_trainer(built: JaxNetwork, train: schema.Train) -> Trainer:
    """The optimizer the spec names and the compiled training step for ``built``."""
    optimizer, arguments = make_optimizer(train.optimizer)
    graph = built.train_graph
    mask = trainable_mask(built.network, built.params)

    def trainable_only(tree: Any) -> Any:
        # A frozen layer's gradient is zero, so every optimizer's update (and state) for it stays zero.
        return tree if mask is None else jax.tree.map(lambda leaf, keep: leaf if keep else jnp.zeros_like(leaf), tree, mask)

    def step(params: nnx.State, rest: nnx.State, opt_state: Any, images: jax.Array, labels: jax.Array) -> Any:
        model = nnx.merge(graph, params, rest)

        def loss_and_logits(model: nnx.Module) -> tuple[jax.Array, jax.Array]:
            logits = model(images)
            return loss_function(logits, labels), logits

        # nnx.value_and_grad differentiates the nnx.Param variables and keeps the batch-norm
        # statistics and dropout's stream that the forward pass updates in ``model``.
        (loss, logits), grads = nnx.value_and_grad(loss_and_logits, has_aux=True)(model)
        _, params, rest = nnx.split(model, nnx.Param, ...)
        updates, opt_state = optimizer.update(trainable_only(grads), opt_state, params)
        updates = trainable_only(updates)
        correct = jnp.sum(jnp.argmax(logits, axis=-1) == labels)
        return optax.apply_updates(params, updates), rest, opt_state, loss, correct

    opt_state = jax.device_put(optimizer.init(built.params), built.device)
    built.trainer = Trainer(built, arguments, opt_state, jax.jit(step, donate_argnums=(0, 1, 2)))
    return built.trainer
