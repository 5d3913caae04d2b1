"""A multilayer perceptron: Linear layers with ReLU between them."""

from collections.abc import Sequence
from itertools import pairwise

from torch import Tensor, nn


class MLP(nn.Module):
    """``Flatten`` then ``Linear → ReLU → … → Linear`` through ``layer_sizes``.

    ``MLP([784, 512, 512, 10])`` is the PyTorch Quickstart's network and ``MLP([1, 2, 1])`` the
    least-squares lesson's 1-2-1 ReLU net. The stack is called ``layers`` so that parameter names
    read ``layers.0.weight``, ``layers.2.bias``, ... (the Quickstart calls it ``linear_relu_stack``).
    ``dropout`` > 0 adds ``Dropout`` after each hidden ReLU (``layers.3`` is then the second Linear).
    """

    def __init__(self, layer_sizes: Sequence[int], dropout: float = 0.0) -> None:
        super().__init__()
        if len(layer_sizes) < 2 or any(int(size) < 1 for size in layer_sizes):
            raise ValueError(
                f"model.layer_sizes must list at least two positive sizes (input, ..., output), got {list(layer_sizes)}"
            )
        if not 0 <= dropout < 1:
            raise ValueError(f"model.dropout={dropout} must be in [0, 1)")
        self.layer_sizes = [int(size) for size in layer_sizes]
        self.flatten = nn.Flatten()
        layers: list[nn.Module] = []
        for index, (size_in, size_out) in enumerate(pairwise(self.layer_sizes)):
            if index > 0:
                layers.append(nn.ReLU())
                if dropout > 0:
                    layers.append(nn.Dropout(dropout))
            layers.append(nn.Linear(size_in, size_out))
        self.layers = nn.Sequential(*layers)

    def forward(self, inputs: Tensor) -> Tensor:
        return self.layers(self.flatten(inputs))
