"""Where a JAX LeNet step's time goes between the plain Flax loop and the harness's JAX plugin.

``benchmarks/native/jax_native.py`` (the native anchor) trains a Flax NNX LeNet with one
``jax.jit`` step that returns the loss, read back with ``float``. The plugin's step
(``harness_jax.train``) does a little more. This script adds one difference at a time:

- ``native``: the native script's model and step;
- ``+count``: the step also returns the batch's correct count (``argmax``), read with ``int``;
- ``+inject``: the optimizer wrapped in ``optax.inject_hyperparams`` (its numbers in its state);
- ``+device_put``: the images and labels put on the device with ``jax.device_put`` before the call;
- ``plugin-network``: the harness's own LeNet (``harness_jax``, from ``specs/lenet.yaml``) with the
  native step;
- ``plugin``: the plugin as a job uses it (its build and ``train_step``, then ``synchronize``).

This script found the plugin's one cost: its ``Trainer.run`` put each batch on the device with
``jax.device_put`` (what ``+device_put`` measures, 3%). It now hands ``jit`` the numpy batch.

Unlike ``keras_step_paths.py``, all variants live in one process with one thread: the differences
sought are a few percent, smaller than what separates two processes. Each round runs one epoch of
every variant, in an order rotated round by round, and takes each epoch's median step; a variant's
figure is the median over rounds of its ratio to ``native`` in the same round, with a 95%
t interval of the geometric mean::

    python benchmarks/jax_step_paths.py --rounds 30
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from harness.runner.threads import thread_environment, xla_environment  # noqa: E402 - framework-free

os.environ.update({**thread_environment(1), **xla_environment(1, "cpu")})  # as the plugin's worker, before jax

import jax  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
from flax import nnx  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent / "native"))
from jax_native import LeNet  # noqa: E402

VARIANTS = ("native", "+count", "+inject", "+device_put", "plugin-network", "plugin")
SPEC = Path(__file__).resolve().parents[1] / "specs" / "lenet.yaml"
Step = Callable[[np.ndarray, np.ndarray], object]


def plugin_build() -> tuple[Any, Any, Any]:
    """The JAX plugin (one thread, CPU), the spec's LeNet and the plugin's build of it."""
    from harness.plugins import framework_class
    from harness.spec import load_network

    framework = framework_class("jax")(device="cpu", threads=1, seed=0)
    network = load_network(SPEC, None)
    return framework, network, framework.build(network)


def plugin_model() -> nnx.Module:
    """The harness's LeNet as the JAX plugin builds it, as one NNX module."""
    _, _, built = plugin_build()
    return nnx.merge(built.train_graph, built.params, built.rest)


def plain_step(variant: str) -> Step:
    """The native script's step on its own LeNet (or the plugin's, for ``plugin-network``), with
    the one difference ``variant`` names."""
    model = plugin_model() if variant == "plugin-network" else LeNet(nnx.Rngs(params=0, dropout=0))
    count = variant == "+count"
    adam = partial(optax.adam, eps=1e-8)
    optimizer = optax.inject_hyperparams(adam)(learning_rate=0.001) if variant == "+inject" else adam(0.001)
    graph, params, rest = nnx.split(model, nnx.Param, ...)
    state = [params, rest, optimizer.init(params)]

    @partial(jax.jit, donate_argnums=(0, 1, 2))
    def train_step(params: Any, rest: Any, opt_state: Any, images: jax.Array, labels: jax.Array) -> Any:
        model = nnx.merge(graph, params, rest)

        def loss_fn(model: nnx.Module) -> Any:
            logits = model(images)
            return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean(), logits

        (loss, logits), grads = nnx.value_and_grad(loss_fn, has_aux=True)(model)
        _, params, rest = nnx.split(model, nnx.Param, ...)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        correct = (logits.argmax(-1) == labels).sum() if count else None
        return optax.apply_updates(params, updates), rest, opt_state, loss, correct

    def step(images: np.ndarray, labels: np.ndarray) -> object:
        if variant == "+device_put":
            images, labels = jax.device_put(images), jax.device_put(labels)
        state[0], state[1], state[2], loss, correct = train_step(*state, images, labels)
        return float(loss), (int(correct) if count else None)

    return step


def plugin_step() -> Step:
    """The JAX plugin's build and ``train_step``, then ``synchronize``, as a job calls them."""
    framework, network, built = plugin_build()
    trainer = framework.prepare_training(built, network.spec.train)

    def step(images: np.ndarray, labels: np.ndarray) -> object:
        result = framework.train_step(trainer, images, labels)
        framework.synchronize()
        return result

    return step


def epoch_median_ms(step: Step, images: np.ndarray, labels: np.ndarray, order: np.ndarray, batch_size: int) -> float:
    """One epoch of ``step`` over ``order``; its median step (ms)."""
    times = []
    for start in range(0, len(order) - batch_size + 1, batch_size):
        batch = order[start:start + batch_size]
        batch_images, batch_labels = images[batch], labels[batch]
        tick = time.perf_counter()
        step(batch_images, batch_labels)
        times.append(time.perf_counter() - tick)
    return 1000 * statistics.median(times)


def main() -> int:
    from harness.report.native import overhead_verdict

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--images", type=int, default=3200)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--variants", default=",".join(VARIANTS), help="the variants to time, separated by commas (native first)")
    args = parser.parse_args()
    variants = tuple(args.variants.split(","))
    if variants[0] != "native" or not set(variants) <= set(VARIANTS):
        parser.error(f"--variants: native first, then any of {', '.join(VARIANTS[1:])}")
    rng = np.random.default_rng(0)
    images = rng.random((args.images, 28, 28, 1), dtype=np.float32)
    labels = rng.integers(0, 10, args.images).astype(np.int32)
    steps = {variant: plugin_step() if variant == "plugin" else plain_step(variant) for variant in variants}
    for variant, step in steps.items():  # compile, and one warm-up epoch
        epoch_median_ms(step, images, labels, rng.permutation(args.images), args.batch_size)
    medians: dict[str, list[float]] = {variant: [] for variant in variants}
    for round_index in range(args.rounds):
        order = rng.permutation(args.images)
        for variant in variants[round_index % len(variants):] + variants[:round_index % len(variants)]:
            medians[variant].append(epoch_median_ms(steps[variant], images, labels, order, args.batch_size))
    print(f"{args.rounds} rounds, one epoch of {args.images} images (batch {args.batch_size}) per variant each, 1 thread")
    width = max(map(len, variants))
    print(f"{'variant':<{width}} {'median ms':>9}  ratio to native: median, geometric mean [95% t interval]")
    for variant in variants:
        ratios = [a / b for a, b in zip(medians[variant], medians["native"])]
        overhead = overhead_verdict(ratios)  # the native anchors' geometric mean and t interval
        interval = f" [{overhead.low:.3f}, {overhead.high:.3f}]" if overhead.low is not None and overhead.high is not None else ""
        print(f"{variant:<{width}} {statistics.median(medians[variant]):>9.2f}  "
              f"{math.exp(statistics.median(map(math.log, ratios))):.3f}, {overhead.ratio:.3f}{interval}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
