"""How much slower is the harness's training path than a hand-written native loop?

For each framework, one process (with the harness's thread limits) builds the spec's network with
the framework's plugin, then times, alternately, one training epoch through the harness's own loop
(:class:`harness.runner.train_task.Loop`, exactly what ``harness run`` executes) and one epoch of a
minimal native loop on the same model, the same batches in the same order, and the same optimizer
and loss: a plain PyTorch loop, Keras ``fit``, a plain Paddle dygraph loop. The first round of
each is a warm-up (graph tracing); of the others, the fastest epoch of each path is compared (on a
shared machine, other processes only ever add time, so the minimum is the steadiest estimate), and
the medians are shown beside it.

    python benchmarks/native_overhead.py specs/lenet.yaml --framework all
    python benchmarks/native_overhead.py specs/mnist_dropout_heads.yaml --variant a_baseline
    python benchmarks/native_overhead.py specs/lenet.yaml --framework torch --limit-train 1280 --rounds 1   # a quick look

When the spec's data is MNIST and it can be neither found nor downloaded, it says so and runs on
Fashion-MNIST instead (``--dataset fashion-mnist``), as ``make quickstart`` does. Prints harness
and native seconds per epoch and their ratio; exits 1 when a ratio exceeds ``--max-ratio``
(default 1.05, the harness's promise: within 5% of native), 3 when the data cannot be used.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

RESULT_PREFIX = "@@native-overhead "
STAND_INS = {"mnist": "fashion-mnist"}
"""The data set that stands in for a spec's own when that one can be neither found nor downloaded."""
TITLES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}
EXIT_NO_DATA = 3
NATIVE_IDIOMS = {"torch": "plain PyTorch loop", "keras": "Keras model.fit", "paddle": "plain Paddle dygraph loop"}


# ----------------------------------------------------------------------------- native loops (worker)


def torch_native(framework: Any, model: Any, train: Any, data: Any, batch_size: int, seed: int) -> Callable[[int], float]:
    """A plain PyTorch epoch: index a tensor, forward, loss, backward, step."""
    import torch

    from harness_torch.train import make_loss, make_optimizer

    split = data.train
    inputs = torch.from_numpy(np.ascontiguousarray(split.fitted.transpose(0, 3, 1, 2)))
    targets = torch.from_numpy(split.labels.astype(np.int64))
    optimizer = make_optimizer(model.parameters(), train.optimizer)
    loss_fn = make_loss()

    def epoch(number: int) -> float:
        order = [torch.from_numpy(indices) for _, indices in plan(split, batch_size, seed, number)]
        model.train()
        start = time.perf_counter()
        for indices in order:
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(inputs[indices]), targets[indices])
            loss.backward()
            optimizer.step()
        return time.perf_counter() - start

    return epoch


def keras_native(framework: Any, model: Any, train: Any, data: Any, batch_size: int, seed: int) -> Callable[[int], float]:
    """Keras ``fit`` for one epoch on the images in the harness's order (no shuffling by Keras)."""
    from harness_keras.conventions import make_loss, make_optimizer

    split = data.train
    keras_model = model.model
    keras_model.compile(optimizer=make_optimizer(train.optimizer), loss=make_loss())

    def epoch(number: int) -> float:
        order = np.concatenate([indices for _, indices in plan(split, batch_size, seed, number)])
        images, labels = split.fitted[order], split.labels[order]
        start = time.perf_counter()
        keras_model.fit(images, labels, batch_size=batch_size, epochs=1, shuffle=False, verbose=0)
        return time.perf_counter() - start

    return epoch


def paddle_native(framework: Any, model: Any, train: Any, data: Any, batch_size: int, seed: int) -> Callable[[int], float]:
    """A plain Paddle dygraph epoch: index a tensor, forward, loss, backward, step, clear."""
    import paddle

    from harness_paddle.train import make_loss, make_optimizer

    split = data.train
    inputs = paddle.to_tensor(np.ascontiguousarray(split.fitted.transpose(0, 3, 1, 2)))
    targets = paddle.to_tensor(split.labels.astype(np.int64))
    optimizer = make_optimizer(train.optimizer, [p for p in model.parameters() if p.trainable])
    loss_fn = make_loss()

    def epoch(number: int) -> float:
        order = [paddle.to_tensor(indices) for _, indices in plan(split, batch_size, seed, number)]
        model.train()
        start = time.perf_counter()
        for indices in order:
            loss = loss_fn(model(paddle.gather(inputs, indices)), paddle.gather(targets, indices))
            loss.backward()
            optimizer.step()
            optimizer.clear_grad()
        return time.perf_counter() - start

    return epoch


NATIVE_LOOPS = {"torch": torch_native, "keras": keras_native, "paddle": paddle_native}


def plan(split: Any, batch_size: int, seed: int, epoch: int) -> list[tuple[int, np.ndarray]]:
    """The harness's batches of ``epoch`` (the same order both paths use)."""
    from harness.data.batches import plan_batches

    return plan_batches(split.bucket_of, batch_size, seed, epoch, shuffle=True)


def harness_epoch(loop: Any) -> Callable[[int], float]:
    """One epoch through the harness's own loop; its training seconds (evaluation not counted)."""

    def epoch(number: int) -> float:
        with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):  # progress events go nowhere
            loop.train_epoch(number)
        return loop.history[-1].seconds

    return epoch


def worker(args: argparse.Namespace) -> dict[str, Any]:
    """Time both paths in this process for one framework."""
    from harness.data import load_data
    from harness.plugins import framework_class
    from harness.runner.protocol import TrainConfig
    from harness.runner.train_task import Loop
    from harness.spec import load_network

    network = load_network(args.spec, args.variant)
    train = network.spec.train
    batch_size = args.batch_size or train.batch_size
    data = load_data(network.spec.dataset, network.input_shape, classes=network.spec.classes, data_dir=args.data_dir,
                     seed=args.seed, limit_train=args.limit_train, limit_test=batch_size, name_override=args.dataset)
    if data.train.lazy:
        raise SystemExit("the benchmark needs the training images fitted in memory (a small input such as 28x28).")
    framework = framework_class(args.worker)(device="cpu", threads=args.threads, seed=args.seed)
    model = framework.build(network)
    config = TrainConfig(framework=args.worker, spec=str(args.spec), variant=args.variant, seed=args.seed,
                         epochs=2 * (args.rounds + 1), batch_size=batch_size, threads=args.threads, warmup_steps=0)
    loop = Loop(framework, config, network, data, model, framework.prepare_training(model, train))
    paths = {"harness": harness_epoch(loop),
             "native": NATIVE_LOOPS[args.worker](framework, model, train, data, batch_size, args.seed)}
    seconds: dict[str, list[float]] = {name: [] for name in paths}
    for round_number in range(args.rounds + 1):
        order = list(paths) if round_number % 2 == 0 else list(reversed(paths))
        for name in order:
            elapsed = paths[name](round_number + 1)
            if round_number:
                seconds[name].append(elapsed)
    return {
        "framework": args.worker, "network": network.key, "images": len(data.train), "batch_size": batch_size,
        "data": data.info.name, "native": NATIVE_IDIOMS[args.worker], "seconds": seconds,
        "harness_s": min(seconds["harness"]), "native_s": min(seconds["native"]),
        "harness_median_s": statistics.median(seconds["harness"]), "native_median_s": statistics.median(seconds["native"]),
    }


# ----------------------------------------------------------------------------- driver


def run_framework(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """Run the worker for ``name`` in its own process with the harness's thread limits."""
    from harness.plugins import discover, worker_environment
    from harness.runner.threads import thread_environment

    env = thread_environment(args.threads)
    env.update(worker_environment(discover().manager, name, args.threads, "cpu"))
    command = [sys.executable, __file__, str(args.spec), "--worker", name, "--threads", str(args.threads),
               "--rounds", str(args.rounds), "--seed", str(args.seed)]
    for option in ("variant", "dataset", "data_dir", "limit_train", "batch_size"):
        value = getattr(args, option)
        if value is not None:
            command += [f"--{option.replace('_', '-')}", str(value)]
    completed = subprocess.run(command, env=env, capture_output=True, text=True)
    for line in completed.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX):])
    raise RuntimeError(f"{name}: the benchmark process failed:\n{completed.stdout[-2000:]}{completed.stderr[-4000:]}")


def data_to_use(args: argparse.Namespace) -> str | None:
    """The ``--dataset`` to run on: the one given, else the spec's own (None), else its stand-in.

    Checks the data (files and checksums, no image fitted) before any framework starts, so a
    missing or broken data set is one clear message on stderr (exit 3), not a worker's traceback.
    """
    from harness.data import DataError, DataNotFoundError, load_data
    from harness.spec import SpecError, SpecErrors, load_network

    try:
        network = load_network(args.spec, args.variant)
    except (SpecError, SpecErrors) as exc:
        raise SystemExit(str(exc)) from None

    def check(name: str | None) -> None:
        load_data(network.spec.dataset, network.input_shape, classes=network.spec.classes, data_dir=args.data_dir,
                  seed=args.seed, limit_train=args.limit_train, name_override=name, max_eager_bytes=0)

    own = network.spec.dataset.name
    try:
        check(args.dataset)
        return args.dataset
    except DataNotFoundError as exc:
        if args.dataset is not None or own not in STAND_INS:
            print(f"error: {exc.message}", file=sys.stderr)
            raise SystemExit(EXIT_NO_DATA) from None
    except DataError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        raise SystemExit(EXIT_NO_DATA) from None
    stand_in = STAND_INS[own]
    print(f"{TITLES[own]} cannot be found or downloaded here: running on {TITLES[stand_in]} instead "
          f"(--dataset {stand_in}).", flush=True)
    try:
        check(stand_in)
    except DataError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        raise SystemExit(EXIT_NO_DATA) from None
    return stand_in


def main() -> int:
    from harness.runner.threads import default_threads

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("spec", type=Path)
    parser.add_argument("--variant")
    parser.add_argument("--framework", default="all", help="all, or names separated by commas")
    parser.add_argument("--dataset", help="a data set standing in for the spec's (default: the spec's)")
    parser.add_argument("--data-dir")
    parser.add_argument("--limit-train", type=int, default=12800, help="images per epoch (default 12800)")
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--rounds", type=int, default=3, help="timed epochs per path, after one warm-up epoch each")
    parser.add_argument("--threads", type=int, default=default_threads())
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-ratio", type=float, default=1.05)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(RESULT_PREFIX + json.dumps(worker(args)), flush=True)
        return 0
    from harness.plugins import PluginError, discover, select_frameworks

    try:
        names = select_frameworks(args.framework, discover()).names
    except PluginError as exc:
        raise SystemExit(f"error: {exc}") from None
    without = [name for name in names if name not in NATIVE_LOOPS]
    if without:
        print(f"no hand-written native loop for {', '.join(without)}; timing only {', '.join(NATIVE_LOOPS)}", file=sys.stderr)
        names = [name for name in names if name in NATIVE_LOOPS]
    args.dataset = data_to_use(args)
    worst = 0.0
    print(f"{'framework':<8} {'network':<32} {'native path':<28} {'harness s':>10} {'native s':>10} {'ratio':>7} "
          f"{'median ratio':>13}")
    for name in names:
        result = run_framework(name, args)
        ratio = result["harness_s"] / result["native_s"]
        worst = max(worst, ratio)
        median_ratio = result["harness_median_s"] / result["native_median_s"]
        print(f"{name:<8} {result['network']:<32} {result['native']:<28} {result['harness_s']:>10.3f} "
              f"{result['native_s']:>10.3f} {ratio:>7.3f} {median_ratio:>13.3f}   ({result['images']} {result['data']} "
              f"images, batch {result['batch_size']}, {args.threads} threads, best of {args.rounds} epochs)", flush=True)
    return 0 if worst <= args.max_ratio else 1


if __name__ == "__main__":
    sys.exit(main())
