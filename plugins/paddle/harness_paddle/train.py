"""The optimizer and loss the spec names (every hyperparameter explicit), one Paddle dygraph
training step, and inference: predictions and every layer's output in the neutral layout.

Momentum SGD is ``paddle.optimizer.Momentum`` (``v = momentum * v + g``, ``p -= lr * v``: the
neutral update for a constant learning rate); the loss is softmax cross-entropy on logits with
integer labels, averaged over the batch.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.framework import StepResult
from harness.spec import schema
from harness.spec.schema import Train
from harness_paddle.build import PaddleNetwork
from harness_paddle.runtime import BATCH_NORM_TRAINING_WARNING, nn, paddle, to_channels_first, to_neutral

# ----------------------------------------------------------------------------- optimizer and loss


def optimizer_arguments(optimizer: schema.Optimizer) -> tuple[type[paddle.optimizer.Optimizer], dict[str, Any]]:
    """The Paddle optimizer class for the neutral optimizer, and every hyperparameter, explicit."""
    name = optimizer.name
    if name in ("sgd", "momentum"):
        if optimizer.momentum == 0.0:
            return paddle.optimizer.SGD, {"learning_rate": optimizer.lr}
        return paddle.optimizer.Momentum, {
            "learning_rate": optimizer.lr, "momentum": optimizer.momentum, "use_nesterov": optimizer.nesterov,
        }
    if name == "adam":
        return paddle.optimizer.Adam, {
            "learning_rate": optimizer.lr, "beta1": optimizer.beta1, "beta2": optimizer.beta2,
            "epsilon": optimizer.epsilon, "amsgrad": False, "lazy_mode": False,
        }
    if name == "adadelta":
        return paddle.optimizer.Adadelta, {"learning_rate": optimizer.lr, "rho": optimizer.rho, "epsilon": optimizer.epsilon}
    if name == "rmsprop":
        return paddle.optimizer.RMSProp, {
            "learning_rate": optimizer.lr, "rho": optimizer.rho, "momentum": optimizer.momentum,
            "epsilon": optimizer.epsilon, "centered": optimizer.centered,
        }
    raise ValueError(f"the Paddle plugin has no mapping for optimizer '{name}'")


OPTIMIZER_NEUTRAL_NAMES: dict[str, str] = {"learning_rate": "lr", "use_nesterov": "nesterov"}
"""Paddle hyperparameter name -> neutral name, where they differ."""

OPTIMIZER_NOTES: dict[tuple[str, str], str] = {
    ("adam", "epsilon"): "Paddle adds epsilon to the square root of the bias-corrected second moment "
                         "(as PyTorch does); Keras adds it before the bias correction",
    ("rmsprop", "epsilon"): "added inside the square root: lr * g / sqrt(mean_square + epsilon)",
    ("adadelta", "epsilon"): "added inside both square roots, as Keras does",
}
"""Where Paddle applies a hyperparameter in a way worth stating next to its value."""


def make_optimizer(optimizer: schema.Optimizer, parameters: list[paddle.Tensor]) -> paddle.optimizer.Optimizer:
    """A fresh Paddle optimizer for the neutral one over ``parameters`` (the trainable ones)."""
    cls, arguments = optimizer_arguments(optimizer)
    return cls(parameters=parameters, **arguments)


LOSS_ARGUMENTS: dict[str, Any] = {
    "reduction": "mean", "soft_label": False, "use_softmax": True, "axis": -1, "label_smoothing": 0.0,
}
"""Softmax cross-entropy from logits with integer labels, averaged over the batch."""


def make_loss() -> nn.CrossEntropyLoss:
    """The neutral loss as a Paddle layer."""
    return nn.CrossEntropyLoss(**LOSS_ARGUMENTS)


# ----------------------------------------------------------------------------- training


@dataclass
class PaddleTrainer:
    """What a training step needs: the model, its optimizer and loss."""

    model: PaddleNetwork
    optimizer: Any
    loss: Any


def prepare(model: PaddleNetwork, train: Train, forward: Any = None) -> PaddleTrainer:
    """The optimizer over the trainable parameters (every hyperparameter explicit) and the loss;
    ``forward`` (the compiled model in compiled mode) runs the training steps instead of ``model``."""
    trainable = [p for p in model.parameters() if p.trainable]
    return PaddleTrainer(model if forward is None else forward, make_optimizer(train.optimizer, trainable), make_loss())


def step(trainer: PaddleTrainer, images: np.ndarray, labels: np.ndarray) -> StepResult:
    """One optimisation step on an NHWC batch in training mode (dropout on, BN on batch statistics)."""
    trainer.model.train()
    targets = paddle.to_tensor(np.asarray(labels, dtype=np.int64))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=BATCH_NORM_TRAINING_WARNING)
        logits = trainer.model(to_channels_first(images))
    loss = trainer.loss(logits, targets)
    loss.backward()
    trainer.optimizer.step()
    trainer.optimizer.clear_grad()
    correct = (paddle.argmax(logits, axis=1) == targets).astype("int64").sum()
    return StepResult(float(loss), int(correct))


# ----------------------------------------------------------------------------- inference


def predict(model: PaddleNetwork, images: np.ndarray) -> np.ndarray:
    """Logits in inference mode (dropout off, BN on its moving statistics)."""
    model.eval()
    with paddle.no_grad():
        return model(to_channels_first(images)).numpy()


def layer_outputs(model: PaddleNetwork, images: np.ndarray) -> Mapping[str, np.ndarray]:
    """Every layer's output in inference mode, channels-last; flattened vectors in (H, W, C) order."""
    model.eval()
    with paddle.no_grad():
        outputs = model.outputs(to_channels_first(images))
    return {name: to_neutral(output, model.plan.orders[name].outputs) for name, output in outputs.items()}
