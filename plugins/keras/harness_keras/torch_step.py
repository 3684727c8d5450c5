"""Keras on PyTorch: the plugin's own eager training step, without Keras' running metrics.

Keras' ``train_on_batch`` on PyTorch resets its loss tracker and compiled metrics on every call,
updates them in the step and converts its logs to Python; the harness needs only the batch's loss
and correct count. This step makes the update as Keras' own ``TorchTrainer.train_step`` does (the
forward pass in training mode, ``zero_grad``, ``backward``, ``optimizer.apply`` without autograd)
and counts the correct predictions from the same logits, as the TensorFlow and JAX steps do.
"""

from __future__ import annotations

from typing import Any

import torch

from harness_keras.runtime import keras


class EagerStep:
    """``step(images, labels) -> (loss, correct)``, both as tensors on the model's device; the optimizer comes built."""

    def __init__(self, model: keras.Model, optimizer: keras.optimizers.Optimizer, loss_fn: keras.losses.Loss) -> None:
        self.model, self.optimizer, self.loss_fn = model, optimizer, loss_fn
        self.variables = model.trainable_variables

    def __call__(self, images: Any, labels: Any) -> tuple[torch.Tensor, torch.Tensor]:
        images, labels = keras.ops.convert_to_tensor(images), keras.ops.convert_to_tensor(labels)
        logits = self.model(images, training=True)
        loss = self.loss_fn(labels, logits)
        self.model.zero_grad()
        loss.backward()
        with torch.no_grad():
            self.optimizer.apply([variable.value.grad for variable in self.variables], self.variables)
            correct = (logits.argmax(dim=-1) == labels).sum()
        return loss.detach(), correct
