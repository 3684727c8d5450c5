"""One plain PyTorch training step: tensor, NCHW, forward, loss, backward, optimizer step."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from harness.framework import StepResult
from harness.spec.schema import Train
from harness_torch import conventions
from harness_torch.modules import NeutralNet


@dataclass
class Trainer:
    """A model with the optimizer and loss the spec's ``train`` section names."""

    model: NeutralNet
    optimizer: torch.optim.Optimizer
    loss: torch.nn.Module
    device: str


def prepare(model: NeutralNet, train: Train, device: str) -> Trainer:
    """The optimizer (every hyperparameter explicit) and cross-entropy on logits."""
    return Trainer(model, conventions.make_optimizer(model.parameters(), train.optimizer), conventions.make_loss(), device)


def step(trainer: Trainer, images: np.ndarray, labels: np.ndarray) -> StepResult:
    """One optimisation step on an NHWC batch in training mode (dropout on, BN on batch statistics)."""
    inputs = conventions.images_to_native(images, trainer.device)
    targets = conventions.labels_to_native(labels, trainer.device)
    trainer.model.train()
    trainer.optimizer.zero_grad(set_to_none=True)
    logits = trainer.model(inputs)
    loss = trainer.loss(logits, targets)
    loss.backward()
    trainer.optimizer.step()
    correct = int((logits.argmax(dim=1) == targets).sum().item())
    return StepResult(loss=float(loss.item()), correct=correct)
