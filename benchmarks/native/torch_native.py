"""LeNet (E3a) and the E5a MNIST CNN written the way PyTorch users write them: a ``torch.nn``
module trained by a plain loop. No harness import; the harness's benchmarks run this file in a
fresh process where only the thread count is set (``OMP_NUM_THREADS``...), and anyone can run it::

    OMP_NUM_THREADS=2 python benchmarks/native/torch_native.py lenet DATA.npz --epochs 2
    OMP_NUM_THREADS=2 python benchmarks/native/torch_native.py lenet DATA.npz --compiled   # torch.compile(model)

``DATA.npz`` holds ``images`` (N, 28, 28, 1) float32 in [0, 1] and ``labels`` (N,) int. Prints one
JSON line: the median step time of each epoch (ms; first epoch = warm-up) and its seconds.
"""

from __future__ import annotations

import os

import numpy as np
import torch
from torch import nn

from native_cli import parse_args, train_and_report  # beside this script


def lenet() -> nn.Module:
    """E3a as published (PaddlePaddle 2.0 LeNet, relu after the first pooling)."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2, 2), nn.ReLU(), nn.Conv2d(6, 16, 5), nn.MaxPool2d(2, 2),
        nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )


def mnist_cnn() -> nn.Module:
    """E5a: conv 32 k3 relu -> conv 64 k3 relu -> pool 2 -> dropout 0.25 -> dense 128 relu -> dropout 0.5 -> dense 10."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.25),
        nn.Flatten(), nn.Linear(9216, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10),
    )


def main() -> None:
    args = parse_args(__doc__)
    torch.manual_seed(args.seed)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", torch.get_num_threads())))
    data = np.load(args.data)
    images = torch.from_numpy(np.ascontiguousarray(data["images"].transpose(0, 3, 1, 2)))
    labels = torch.from_numpy(data["labels"].astype(np.int64))
    if args.model == "lenet":
        model, batch_size = lenet(), 64
        optimizer = torch.optim.Adam(model.parameters(), lr=0.001)
    else:
        model, batch_size = mnist_cnn(), 128
        optimizer = torch.optim.Adadelta(model.parameters(), lr=1.0, rho=0.95, eps=1e-7)
    batch_size = args.batch_size or batch_size
    forward = torch.compile(model) if args.compiled else model  # inductor, compiled on the first call
    loss_fn = nn.CrossEntropyLoss()
    model.train()

    def step(batch: torch.Tensor) -> None:
        optimizer.zero_grad()
        loss = loss_fn(forward(images[batch]), labels[batch])
        loss.backward()
        optimizer.step()
        loss.item()

    train_and_report("torch", args, batch_size, lambda: torch.randperm(len(images)), step)


if __name__ == "__main__":
    main()
