"""Training in numpy: the reference forward pass in training mode, its backward pass, the optimizers.

What one training step of a network *means*, written down once and framework-free, in float64
(or in float32, to measure how sensitive a network's training is to float32 rounding):

* forward: :func:`harness.equivalence.reference.apply_layer` for every layer (the single forward), except that
  batch norm normalises with the batch's statistics (biased variance) and then updates its moving
  statistics ``moving = momentum * moving + (1 - momentum) * batch``, and dropout (inverted: kept
  values scaled by ``1 / (1 - rate)``) draws its masks from a generator when one is given and is
  refused otherwise (training parity sets every rate to 0: random masks cannot be shared);
* loss: softmax cross-entropy on the logits, averaged over the batch;
* backward: the exact gradient of every layer (max pooling routes a window's gradient to its first
  largest pixel in row-major order, as every framework does);
* update: the spec's optimizer with Keras' update rules (the neutral convention), or with the
  departures a framework declares in :class:`harness.framework.TrainingConventions`;
* ``train.freeze: backbone``: the backbone's batch norms run on their moving statistics (and keep
  them), and its weights are not updated.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from harness.equivalence import reference
from harness.framework import NEUTRAL_CONVENTIONS, NeutralWeights, TrainingConventions
from harness.spec import Network, Node, schema
from harness.spec.network import frozen_layers

TRAINABLE = ("kernel", "bias", "gamma", "beta")
"""Tensors the optimizer updates; ``moving_mean`` and ``moving_variance`` follow the batches."""


def activation_grad(output: np.ndarray, grad: np.ndarray, function: str) -> np.ndarray:
    """The gradient before an activation, from its output and the gradient after it."""
    if function == "relu":
        return grad * (output > 0)
    if function == "relu6":
        return grad * ((output > 0) & (output < 6))
    if function == "sigmoid":
        return grad * output * (1 - output)
    if function == "tanh":
        return grad * (1 - output**2)
    if function == "softmax":
        return output * (grad - (grad * output).sum(axis=-1, keepdims=True))
    return grad


def softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """The batch-mean softmax cross-entropy of ``logits`` and its gradient."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(len(labels))
    grad = np.exp(log_probs)
    grad[rows, labels] -= 1.0
    return float(-log_probs[rows, labels].mean()), grad / len(labels)


def _scatter(patch_grad: np.ndarray, shape: tuple[int, ...], kernel: tuple[int, int], stride: tuple[int, int],
             pads: tuple[int, int, int, int]) -> np.ndarray:
    """The gradient of an input from the gradient of its windows (the adjoint of reference.windows)."""
    top, bottom, left, right = pads
    n, height, width, channels = shape
    padded = np.zeros((n, height + top + bottom, width + left + right, channels), dtype=patch_grad.dtype)
    rows, cols = patch_grad.shape[1:3]
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            padded[:, i : i + (rows - 1) * stride[0] + 1 : stride[0], j : j + (cols - 1) * stride[1] + 1 : stride[1]] += (
                patch_grad[..., i, j]
            )
    return padded[:, top : top + height, left : left + width]


def _window_backward(layer: schema.Layer, x: np.ndarray, y: np.ndarray, grad: np.ndarray,
                     params: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    if layer.type in ("conv", "depthwise_conv"):
        kernel, stride = schema.pair(layer.kernel), schema.pair(layer.stride)
        pads = reference.window_pads(layer, x, kernel, stride)
        patches = reference.windows(x, kernel, stride, pads, 0.0)
        weights = params["kernel"]
        grad = activation_grad(y, grad, layer.activation)
        grads = {"bias": grad.sum(axis=(0, 1, 2))} if "bias" in params else {}
        if layer.type == "conv":
            rows = grad.reshape(-1, grad.shape[-1])
            kh, kw, channels, filters = weights.shape
            grads["kernel"] = (reference.columns(patches).T @ rows).reshape(channels, kh, kw, filters).transpose(1, 2, 0, 3)
            patch_grad = (rows @ reference.kernel_matrix(weights).T).reshape(patches.shape)
        else:
            grad = grad.reshape(grad.shape[:3] + weights.shape[2:])
            grads["kernel"] = np.einsum("nhwcij,nhwcm->ijcm", patches, grad, optimize=True)
            patch_grad = np.einsum("nhwcm,ijcm->nhwcij", grad, weights, optimize=True)
        return _scatter(patch_grad, x.shape, kernel, stride, pads), grads
    kernel = schema.pair(layer.pool)
    stride = schema.pair(layer.stride if layer.stride is not None else layer.pool)
    pads = reference.window_pads(layer, x, kernel, stride)
    if layer.type == "max_pool":
        patches = reference.windows(x, kernel, stride, pads, -np.inf)
        flat = patches.reshape(patches.shape[:4] + (-1,))
        patch_grad = np.zeros(flat.shape, dtype=flat.dtype)
        np.put_along_axis(patch_grad, flat.argmax(axis=-1)[..., None], grad[..., None], axis=-1)
        patch_grad = patch_grad.reshape(patches.shape)
    else:
        count = reference.windows(np.ones_like(x[:1, ..., :1]), kernel, stride, pads, 0.0).sum(axis=(-2, -1))
        patch_grad = np.broadcast_to((grad / count)[..., None, None], grad.shape + kernel)
    return _scatter(patch_grad, x.shape, kernel, stride, pads), {}


def _batch_axes(x: np.ndarray) -> tuple[int, ...]:
    return tuple(range(x.ndim - 1))


def _first_max_mask(x: np.ndarray) -> np.ndarray:
    """(N, H, W, C) mask of each channel's first largest pixel (row-major)."""
    n, height, width, channels = x.shape
    flat = x.reshape(n, height * width, channels)
    mask = np.zeros(flat.shape, dtype=flat.dtype)
    np.put_along_axis(mask, flat.argmax(axis=1)[:, None, :], 1.0, axis=1)
    return mask.reshape(x.shape)


def layer_backward(node: Node, x: np.ndarray, y: np.ndarray, grad: np.ndarray,
                   params: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The gradient of a non-residual layer's input and of its tensors, from its input ``x``, its
    output ``y`` (training mode) and the gradient of the output."""
    layer, kind = node.layer, node.layer.type
    if kind in ("conv", "depthwise_conv", "max_pool", "avg_pool"):
        return _window_backward(layer, x, y, grad, params)
    if kind == "dense":
        grad = activation_grad(y, grad, layer.activation)
        grads = {"kernel": x.T @ grad, **({"bias": grad.sum(axis=0)} if "bias" in params else {})}
        return grad @ params["kernel"].T, grads
    if kind == "batch_norm":
        axes = _batch_axes(x)
        mean, variance = x.mean(axis=axes), x.var(axis=axes)
        inverse = 1.0 / np.sqrt(variance + layer.epsilon)
        normalised = (x - mean) * inverse
        grads = {"gamma": (grad * normalised).sum(axis=axes), "beta": grad.sum(axis=axes)}
        centred = grad - grad.mean(axis=axes) - normalised * (grad * normalised).mean(axis=axes)
        return params["gamma"] * inverse * centred, grads
    if kind == "activation":
        return activation_grad(y, grad, layer.function), {}
    if kind == "flatten":
        return grad.reshape(x.shape), {}
    if kind in ("global_avg_pool", "global_max_pool"):
        grad = grad.reshape(x.shape[0], 1, 1, x.shape[-1])
        if kind == "global_avg_pool":
            return np.broadcast_to(grad / (x.shape[1] * x.shape[2]), x.shape).copy(), {}
        return _first_max_mask(x) * grad, {}
    if kind == "dropout":
        return grad, {}
    raise ValueError(f"no backward rule for layer type '{kind}'")


@dataclass
class _Record:
    """What the backward pass needs of one layer: its input, its output (and a dropout mask)."""

    node: Node
    x: np.ndarray
    y: np.ndarray
    children: list[_Record] = field(default_factory=list)
    mask: np.ndarray | None = None


@dataclass
class _Pass:
    """One training-mode forward pass: the weights, the dropout generator, what it gathers."""

    weights: dict[str, dict[str, np.ndarray]]
    rng: np.random.Generator | None
    statistics: dict[str, tuple[np.ndarray, np.ndarray, int]] = field(default_factory=dict)
    frozen: frozenset[str] = frozenset()


def _train_layer(node: Node, x: np.ndarray, run: _Pass) -> _Record:
    layer = node.layer
    if layer.type == "dropout" and layer.rate > 0:
        if run.rng is None:
            raise ValueError(f"the training reference runs with dropout off here, but '{node.name}' has rate {layer.rate}")
        mask = ((run.rng.random(x.shape) >= layer.rate) / (1 - layer.rate)).astype(x.dtype)
        return _Record(node, x, x * mask, mask=mask)
    if layer.type != "batch_norm" or node.name in run.frozen:  # a frozen batch norm runs on its moving statistics
        return _Record(node, x, reference.apply_layer(node, x, run.weights))
    axes = _batch_axes(x)
    mean, variance = x.mean(axis=axes), x.var(axis=axes)
    run.statistics[node.name] = (mean, variance, x.size // x.shape[-1])
    batch = {**run.weights[node.name], "moving_mean": mean, "moving_variance": variance}
    return _Record(node, x, reference.apply_layer(node, x, {node.name: batch}))


def _forward(nodes: tuple[Node, ...], x: np.ndarray, run: _Pass, records: list[_Record]) -> np.ndarray:
    for node in nodes:
        if node.children:
            record = _Record(node, x, x)
            record.y = x + _forward(node.children, x, run, record.children)
        else:
            record = _train_layer(node, x, run)
        records.append(record)
        x = record.y
    return x


def _backward(records: list[_Record], grad: np.ndarray, weights: dict[str, dict[str, np.ndarray]],
              grads: dict[str, dict[str, np.ndarray]]) -> np.ndarray:
    for record in reversed(records):
        if record.children:
            grad = grad + _backward(record.children, grad, weights, grads)
        elif record.mask is not None:
            grad = grad * record.mask
        else:
            grad, tensors = layer_backward(record.node, record.x, record.y, grad, weights.get(record.node.name, {}))
            if tensors:
                grads[record.node.name] = tensors
    return grad


@dataclass(frozen=True)
class Gradients:
    """One forward and backward pass: the loss, the correct count, every tensor's gradient and
    every batch norm's batch statistics (mean, biased variance, values per channel)."""

    loss: float
    correct: int
    grads: dict[str, dict[str, np.ndarray]]
    statistics: dict[str, tuple[np.ndarray, np.ndarray, int]]


def gradients(network: Network, weights: NeutralWeights, images: np.ndarray, labels: np.ndarray,
              rng: np.random.Generator | None = None, dtype: type[np.floating] = np.float64) -> Gradients:
    """Loss and gradients of ``network`` in training mode on one batch, computed in ``dtype``;
    dropout masks come from ``rng`` (without one, every dropout rate must be 0)."""
    run = _Pass({layer: {name: np.asarray(a, dtype=dtype) for name, a in t.items()} for layer, t in weights.items()}, rng,
                frozen=frozen_layers(network))
    records: list[_Record] = []
    logits = _forward(network.nodes, images.astype(dtype), run, records)
    loss, grad = softmax_cross_entropy(logits, labels)
    grads: dict[str, dict[str, np.ndarray]] = {}
    _backward(records, grad, run.weights, grads)
    return Gradients(loss, int((logits.argmax(axis=1) == labels).sum()), grads, run.statistics)


class Optimizer:
    """The spec's optimizers with Keras' update rules, or a framework's declared departures."""

    def __init__(self, spec: schema.Optimizer, conventions: TrainingConventions = NEUTRAL_CONVENTIONS) -> None:
        self.spec = spec
        self.conventions = conventions
        self.state: dict[str, dict[str, np.ndarray]] = {}
        self.iterations = 0

    def apply(self, key: str, weight: np.ndarray, grad: np.ndarray) -> np.ndarray:
        """The new value of ``weight`` after this step's update with ``grad`` (call :meth:`finish_step` after all)."""
        spec, state = self.spec, self.state.setdefault(key, {})
        zeros = np.zeros_like(weight)
        if spec.name in ("sgd", "momentum"):
            if spec.momentum == 0:
                return weight - spec.lr * grad
            velocity = state["v"] = spec.momentum * state.get("v", zeros) - spec.lr * grad
            return weight + (spec.momentum * velocity - spec.lr * grad if spec.nesterov else velocity)
        if spec.name == "adam":
            step = self.iterations + 1
            m = state["m"] = spec.beta1 * state.get("m", zeros) + (1 - spec.beta1) * grad
            v = state["v"] = spec.beta2 * state.get("v", zeros) + (1 - spec.beta2) * grad**2
            if self.conventions.adam_epsilon == "after_correction":
                return weight - spec.lr / (1 - spec.beta1**step) * m / (np.sqrt(v / (1 - spec.beta2**step)) + spec.epsilon)
            alpha = spec.lr * np.sqrt(1 - spec.beta2**step) / (1 - spec.beta1**step)
            return weight - alpha * m / (np.sqrt(v) + spec.epsilon)
        if spec.name == "adadelta":
            accumulated = state["g"] = spec.rho * state.get("g", zeros) + (1 - spec.rho) * grad**2
            delta = np.sqrt(state.get("d", zeros) + spec.epsilon) / np.sqrt(accumulated + spec.epsilon) * grad
            state["d"] = spec.rho * state.get("d", zeros) + (1 - spec.rho) * delta**2
            return weight - spec.lr * delta
        v = state["v"] = spec.rho * state.get("v", zeros) + (1 - spec.rho) * grad**2
        if spec.centered:
            mean = state["mg"] = spec.rho * state.get("mg", zeros) + (1 - spec.rho) * grad
            v = v - mean**2
        if self.conventions.rmsprop_epsilon == "outside_sqrt":
            increment = spec.lr * grad / (np.sqrt(v) + spec.epsilon)
        else:
            increment = spec.lr * grad / np.sqrt(v + spec.epsilon)
        if spec.momentum:
            increment = state["mom"] = spec.momentum * state.get("mom", zeros) + increment
        return weight - increment

    def finish_step(self) -> None:
        self.iterations += 1


class ReferenceTrainer:
    """Trains a copy of ``weights`` in ``dtype`` the way the spec says, one batch per :meth:`step`."""

    def __init__(self, network: Network, weights: NeutralWeights, optimizer: schema.Optimizer,
                 conventions: TrainingConventions = NEUTRAL_CONVENTIONS, rng: np.random.Generator | None = None,
                 dtype: type[np.floating] = np.float64) -> None:
        self.network = network
        self.rng = rng
        self.dtype = dtype
        self.conventions = conventions
        self.weights = {layer: {name: np.array(a, dtype=dtype) for name, a in t.items()} for layer, t in weights.items()}
        self.optimizer = Optimizer(optimizer, conventions)
        self.momentum = {node.name: node.layer.momentum for node in network.walk() if node.type == "batch_norm"}

    def step(self, images: np.ndarray, labels: np.ndarray) -> tuple[float, int]:
        """One step: forward in training mode, loss, backward, update, BN moving statistics."""
        result = gradients(self.network, self.weights, images, labels, self.rng, self.dtype)
        # A frozen backbone is all the layers before the head, so no gradient a trained layer needs
        # passes through it: its own gradients are simply not applied.
        frozen = frozen_layers(self.network)
        for layer, tensors in ((layer, tensors) for layer, tensors in result.grads.items() if layer not in frozen):
            for name, grad in tensors.items():
                current = self.weights[layer][name]
                self.weights[layer][name] = self.optimizer.apply(f"{layer}/{name}", current, grad)
        self.optimizer.finish_step()
        for layer, (mean, variance, count) in result.statistics.items():
            if self.conventions.bn_moving_variance == "unbiased":
                variance = variance * count / max(count - 1, 1)
            momentum, tensors = self.momentum[layer], self.weights[layer]
            tensors["moving_mean"] = momentum * tensors["moving_mean"] + (1 - momentum) * mean
            tensors["moving_variance"] = momentum * tensors["moving_variance"] + (1 - momentum) * variance
        return result.loss, result.correct

    def export(self) -> NeutralWeights:
        """A copy of the current weights in the neutral layout, in the dtype they are trained in."""
        return {layer: {name: a.copy() for name, a in t.items()} for layer, t in self.weights.items()}

