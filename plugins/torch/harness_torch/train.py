"""The optimizer and loss the spec names (every hyperparameter explicit), one plain PyTorch
training step, and inference: predictions and every layer's output in the neutral layout."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from harness.framework import StepResult
from harness.spec import schema
from harness.spec.schema import Train
from harness_torch import runtime
from harness_torch.layers import NeutralNet

# ----------------------------------------------------------------------------- optimizer and loss


def optimizer_arguments(spec: schema.Optimizer) -> tuple[type[torch.optim.Optimizer], dict[str, Any]]:
    """The optimizer class and every keyword argument it is given, from the neutral spec."""
    if spec.name in ("sgd", "momentum"):
        return torch.optim.SGD, {
            "lr": spec.lr,
            "momentum": spec.momentum,
            "dampening": 0.0,
            # PyTorch refuses Nesterov without momentum; with momentum 0 both are plain SGD.
            "nesterov": spec.nesterov and spec.momentum > 0,
            "weight_decay": 0.0,
            "maximize": False,
        }
    if spec.name == "adam":
        return torch.optim.Adam, {
            "lr": spec.lr,
            "betas": (spec.beta1, spec.beta2),
            "eps": spec.epsilon,
            "weight_decay": 0.0,
            "amsgrad": False,
            "maximize": False,
        }
    if spec.name == "adadelta":
        return torch.optim.Adadelta, {
            "lr": spec.lr, "rho": spec.rho, "eps": spec.epsilon, "weight_decay": 0.0, "maximize": False,
        }
    return torch.optim.RMSprop, {
        "lr": spec.lr,
        "alpha": spec.rho,
        "eps": spec.epsilon,
        "momentum": spec.momentum,
        "centered": spec.centered,
        "weight_decay": 0.0,
        "maximize": False,
    }


OPTIMIZER_NEUTRAL_NAMES: dict[str, str | tuple[str, str]] = {
    "lr": "lr",
    "momentum": "momentum",
    "nesterov": "nesterov",
    "betas": ("beta1", "beta2"),
    "eps": "epsilon",
    "rho": "rho",
    "alpha": "rho",
    "centered": "centered",
}
"""PyTorch's optimizer argument -> the neutral field(s) it comes from; the rest are fixed."""

OPTIMIZER_NOTES: dict[str, str] = {
    "sgd": "PyTorch's b = m*b + g; w -= lr*b equals the neutral v = m*v - lr*g at a constant lr",
    "momentum": "PyTorch's b = m*b + g; w -= lr*b equals the neutral v = m*v - lr*g at a constant lr",
    "adam": "PyTorch adds eps to the bias-corrected sqrt(v); Keras adds it before the correction",
    "adadelta": "same update rule as Keras",
    "rmsprop": "PyTorch adds eps to sqrt(v); Keras adds it under the square root",
}


def make_optimizer(parameters: Iterable[nn.Parameter], spec: schema.Optimizer) -> torch.optim.Optimizer:
    """The optimizer the spec names, with every hyperparameter passed explicitly."""
    kind, arguments = optimizer_arguments(spec)
    return kind(parameters, **arguments)


LOSS_ARGUMENTS: dict[str, Any] = {"reduction": "mean", "label_smoothing": 0.0}


def make_loss() -> nn.CrossEntropyLoss:
    """Softmax cross-entropy on logits, averaged over the batch (arguments explicit)."""
    return nn.CrossEntropyLoss(**LOSS_ARGUMENTS)


# ----------------------------------------------------------------------------- training


@dataclass
class Trainer:
    """A model with the optimizer and loss the spec's ``train`` section names."""

    model: NeutralNet
    optimizer: torch.optim.Optimizer
    loss: torch.nn.Module
    device: str


def prepare(model: NeutralNet, train: Train, device: str) -> Trainer:
    """The optimizer (every hyperparameter explicit) and cross-entropy on logits."""
    trainable = [parameter for parameter in model.parameters() if parameter.requires_grad]
    return Trainer(model, make_optimizer(trainable, train.optimizer), make_loss(), device)


def step(trainer: Trainer, images: np.ndarray, labels: np.ndarray) -> StepResult:
    """One optimisation step on an NHWC batch in training mode (dropout on, BN on batch statistics)."""
    inputs = runtime.images_to_native(images, trainer.device)
    targets = runtime.labels_to_native(labels, trainer.device)
    trainer.model.train()
    trainer.optimizer.zero_grad(set_to_none=True)
    logits = trainer.model(inputs)
    loss = trainer.loss(logits, targets)
    loss.backward()
    trainer.optimizer.step()
    correct = int((logits.argmax(dim=1) == targets).sum().item())
    return StepResult(loss=float(loss.item()), correct=correct)


# ----------------------------------------------------------------------------- inference


def predict(model: NeutralNet, images: np.ndarray, device: str) -> np.ndarray:
    """Logits in inference mode (dropout off, BN on its moving statistics)."""
    model.eval()
    with torch.no_grad():
        return model(runtime.images_to_native(images, device)).cpu().numpy()


def layer_outputs(model: NeutralNet, images: np.ndarray, device: str) -> Mapping[str, np.ndarray]:
    """Every layer's output in inference mode, channels-last; flattened vectors in (H, W, C) order."""
    outputs: dict[str, torch.Tensor] = {}
    model.eval()
    with torch.no_grad():
        model.run(model.network.nodes, runtime.images_to_native(images, device), outputs)
    orders = model.plan.orders
    return {name: runtime.output_to_neutral(output, orders[name].outputs) for name, output in outputs.items()}
