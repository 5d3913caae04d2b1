"""The epoch loss: a mean over examples, not over batches, in one process and across DDP ranks."""

import torch
from torch import Tensor
from torchmetrics import MeanMetric


class WeightedMean(MeanMetric):
    """``MeanMetric`` whose ``weight`` (each batch's example count) is kept, with no NaN check.

    torchmetrics 1.9's ``MeanMetric(nan_strategy="disable")`` (chosen to spare a device sync per
    step) replaces the weights by ones, so a smaller last batch, or a rank holding fewer examples
    under DDP, counted as much as a full one (least_squares on 3 ranks: test loss 14.54 where the
    mean squared error over the 5 points is 15.44). The sums synced over ranks are those of
    ``MeanMetric``; a NaN loss still shows as NaN.
    """

    def __init__(self) -> None:
        super().__init__(nan_strategy="disable")

    def update(self, value: Tensor, weight: Tensor | int) -> None:
        weight = torch.as_tensor(weight, dtype=self.dtype, device=self.device)
        value = value.to(self.dtype)
        self.mean_value += (value * weight).sum()
        self.weight += torch.broadcast_to(weight, value.shape).sum()
