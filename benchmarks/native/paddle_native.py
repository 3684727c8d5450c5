"""LeNet (E3a) and the E5a MNIST CNN written the way Paddle users write them: an ``nn.Layer``
trained by a plain dygraph loop. No harness import; the harness's benchmarks run this file in a
fresh process where only the thread count is set (``OMP_NUM_THREADS``...), and anyone can run it::

    OMP_NUM_THREADS=2 python benchmarks/native/paddle_native.py lenet DATA.npz --epochs 2
    OMP_NUM_THREADS=2 python benchmarks/native/paddle_native.py lenet DATA.npz --compiled   # paddle.jit.to_static

``DATA.npz`` holds ``images`` (N, 28, 28, 1) float32 in [0, 1] and ``labels`` (N,) int. Prints one
JSON line: the median step time of each epoch (ms; first epoch = warm-up) and its seconds.
"""

from __future__ import annotations

import numpy as np
import paddle
from paddle import nn

from native_cli import parse_args, train_and_report  # beside this script


class LeNet(nn.Layer):
    """E3a as published (PaddlePaddle 2.0 LeNet, relu after the first pooling)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2D(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2D(2, 2), nn.ReLU(),
            nn.Conv2D(6, 16, 5), nn.MaxPool2D(2, 2),
        )
        self.classifier = nn.Sequential(nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return self.classifier(paddle.flatten(self.features(x), 1))


class MnistCnn(nn.Layer):
    """E5a: conv 32 k3 relu -> conv 64 k3 relu -> pool 2 -> dropout 0.25 -> dense 128 relu -> dropout 0.5 -> dense 10."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2D(1, 32, 3), nn.ReLU(), nn.Conv2D(32, 64, 3), nn.ReLU(), nn.MaxPool2D(2), nn.Dropout(0.25))
        self.classifier = nn.Sequential(nn.Linear(9216, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10))

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return self.classifier(paddle.flatten(self.features(x), 1))


def model_and_optimizer(name: str) -> tuple[nn.Layer, paddle.optimizer.Optimizer, int]:
    if name == "lenet":
        model = LeNet()
        return model, paddle.optimizer.Adam(learning_rate=0.001, parameters=model.parameters()), 64
    model = MnistCnn()
    return model, paddle.optimizer.Adadelta(learning_rate=1.0, rho=0.95, epsilon=1e-7, parameters=model.parameters()), 128


def main() -> None:
    args = parse_args(__doc__)
    paddle.seed(args.seed)
    data = np.load(args.data)
    images = np.ascontiguousarray(data["images"].transpose(0, 3, 1, 2))
    labels = data["labels"].astype("int64")
    model, optimizer, batch_size = model_and_optimizer(args.model)
    forward = paddle.jit.to_static(model, full_graph=True) if args.compiled else model  # a static program of forward
    batch_size = args.batch_size or batch_size
    loss_fn = nn.CrossEntropyLoss()
    rng = np.random.default_rng(args.seed)
    model.train()

    def step(batch: np.ndarray) -> None:
        x, y = paddle.to_tensor(images[batch]), paddle.to_tensor(labels[batch])
        loss = loss_fn(forward(x), y)
        loss.backward()
        optimizer.step()
        optimizer.clear_grad()
        float(loss)

    train_and_report("paddle", args, batch_size, lambda: rng.permutation(len(images)), step)


if __name__ == "__main__":
    main()
