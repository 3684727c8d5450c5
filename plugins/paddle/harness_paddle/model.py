"""A Paddle dygraph model built from an expanded network, keeping the neutral layer names."""

from __future__ import annotations

from harness.spec import Network, Node
from harness_paddle.conventions import FlattenOrder, flatten_order, paddle_unit
from harness_paddle.layers import Unit
from harness_paddle.runtime import nn, paddle


class PaddleNetwork(nn.Layer):
    """The network as one Paddle layer: a ``units`` dict keyed by neutral layer name (every
    non-residual layer, residual blocks' layers included) and the node tree that wires them.

    ``forward`` takes an NCHW batch and returns the logits; :meth:`outputs` returns every neutral
    layer's output, a residual's being the sum of its input and its block's output.
    """

    def __init__(self, network: Network) -> None:
        super().__init__()
        self.network = network
        self.order: FlattenOrder = flatten_order(network)
        self.units = nn.LayerDict(
            {traced.node.name: paddle_unit(traced, self.order) for traced in network.trace if not traced.node.children}
        )

    def unit(self, name: str) -> Unit:
        """The Paddle layers of one (non-residual) neutral layer."""
        return self.units[name]

    def _run(self, nodes: tuple[Node, ...], x: paddle.Tensor, outputs: dict[str, paddle.Tensor] | None) -> paddle.Tensor:
        for node in nodes:
            x = x + self._run(node.children, x, outputs) if node.children else self.units[node.name](x)
            if outputs is not None:
                outputs[node.name] = x
        return x

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return self._run(self.network.nodes, x, None)

    def outputs(self, x: paddle.Tensor) -> dict[str, paddle.Tensor]:
        """Every neutral layer's output (Paddle layout), in execution order."""
        outputs: dict[str, paddle.Tensor] = {}
        self._run(self.network.nodes, x, outputs)
        return outputs

