"""LeNet (E3a) and the E5a MNIST CNN written the way JAX users write them: a Flax NNX module, an
optax optimizer, and one ``jax.jit`` training step over the model's state (``nnx.split`` /
``nnx.merge``, Flax's fast path). No harness import; the harness's benchmarks run this file in a
fresh process where only the thread count is set (``OMP_NUM_THREADS``...), and anyone can run it::

    OMP_NUM_THREADS=2 python benchmarks/native/jax_native.py lenet DATA.npz --epochs 2

``DATA.npz`` holds ``images`` (N, 28, 28, 1) float32 in [0, 1] and ``labels`` (N,) int. Prints one
JSON line: the median step time of each epoch (ms; first epoch = warm-up, compilation included)
and its seconds. JAX has no separate compiled mode: the step is always XLA-compiled.
"""

from __future__ import annotations

from functools import partial

import jax
import numpy as np
import optax
from flax import nnx

from native_cli import parse_args, train_and_report  # beside this script


class LeNet(nnx.Module):
    """E3a as published (PaddlePaddle 2.0 LeNet, relu after the first pooling), channels-last."""

    def __init__(self, rngs: nnx.Rngs) -> None:
        self.conv1 = nnx.Conv(1, 6, (5, 5), padding=2, rngs=rngs)
        self.conv2 = nnx.Conv(6, 16, (5, 5), padding="VALID", rngs=rngs)
        self.dense1 = nnx.Linear(400, 120, rngs=rngs)
        self.dense2 = nnx.Linear(120, 84, rngs=rngs)
        self.logits = nnx.Linear(84, 10, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        x = nnx.relu(nnx.max_pool(nnx.relu(self.conv1(x)), (2, 2), strides=(2, 2)))
        x = nnx.max_pool(self.conv2(x), (2, 2), strides=(2, 2))
        x = x.reshape(x.shape[0], -1)
        return self.logits(nnx.relu(self.dense2(nnx.relu(self.dense1(x)))))


class MnistCnn(nnx.Module):
    """E5a: conv 32 k3 relu -> conv 64 k3 relu -> pool 2 -> dropout 0.25 -> dense 128 relu -> dropout 0.5 -> dense 10."""

    def __init__(self, rngs: nnx.Rngs) -> None:
        self.conv1 = nnx.Conv(1, 32, (3, 3), padding="VALID", rngs=rngs)
        self.conv2 = nnx.Conv(32, 64, (3, 3), padding="VALID", rngs=rngs)
        self.dropout1 = nnx.Dropout(0.25, rngs=rngs)
        self.dense = nnx.Linear(9216, 128, rngs=rngs)
        self.dropout2 = nnx.Dropout(0.5, rngs=rngs)
        self.logits = nnx.Linear(128, 10, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        x = nnx.max_pool(nnx.relu(self.conv2(nnx.relu(self.conv1(x)))), (2, 2), strides=(2, 2))
        x = self.dropout1(x).reshape(x.shape[0], -1)
        return self.logits(self.dropout2(nnx.relu(self.dense(x))))


def main() -> None:
    args = parse_args(__doc__)
    rngs = nnx.Rngs(params=args.seed, dropout=args.seed)
    if args.model == "lenet":
        model, batch_size, optimizer = LeNet(rngs), 64, optax.adam(0.001, eps=1e-8)
    else:
        model, batch_size, optimizer = MnistCnn(rngs), 128, optax.adadelta(1.0, rho=0.95, eps=1e-7)
    batch_size = args.batch_size or batch_size
    graph, params, rest = nnx.split(model, nnx.Param, ...)
    opt_state = optimizer.init(params)

    @partial(jax.jit, donate_argnums=(0, 1, 2))
    def train_step(params: nnx.State, rest: nnx.State, opt_state: optax.OptState, images: jax.Array,
                   labels: jax.Array) -> tuple[nnx.State, nnx.State, optax.OptState, jax.Array]:
        model = nnx.merge(graph, params, rest)

        def loss_fn(model: nnx.Module) -> jax.Array:
            return optax.softmax_cross_entropy_with_integer_labels(model(images), labels).mean()

        loss, grads = nnx.value_and_grad(loss_fn)(model)  # the Param gradients; dropout's stream advances in model
        _, params, rest = nnx.split(model, nnx.Param, ...)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), rest, opt_state, loss

    data = np.load(args.data)
    images, labels = data["images"], data["labels"].astype(np.int32)
    rng = np.random.default_rng(args.seed)

    def step(batch: np.ndarray) -> None:
        nonlocal params, rest, opt_state
        params, rest, opt_state, loss = train_step(params, rest, opt_state, images[batch], labels[batch])
        float(loss)

    train_and_report("jax", args, batch_size, lambda: rng.permutation(len(images)), step)


if __name__ == "__main__":
    main()
