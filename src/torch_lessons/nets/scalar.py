"""The least-squares lesson's model: ``y = a·x`` with one learnable number and no bias."""

import torch
from torch import Tensor, nn


class Scalar(nn.Module):
    """Multiplies its input by a single parameter ``a``.

    ``initial_a=None`` draws ``a`` from a standard normal (seeded by ``seed_everything``), as the
    lesson's ``torch.randn(1, requires_grad=True)`` does; give a number to start from a known value.
    """

    def __init__(self, initial_a: float | None = None) -> None:
        super().__init__()
        start = torch.randn(1) if initial_a is None else torch.tensor([float(initial_a)])
        self.a = nn.Parameter(start)

    def forward(self, inputs: Tensor) -> Tensor:
        return self.a * inputs
