"""Augmentation of a whole in-memory batch at once: a random shift and mirror image per example."""

import torch
from torch import Tensor


class RandomShiftFlip:
    """Shifts each image of an ``N×C×H×W`` batch by up to ``max_shift`` pixels in x and y (filling with
    zeros, the Fashion-MNIST background) and mirrors it left-right with probability ``flip_probability``.

    One call per batch (no per-image Python), drawing from torch's global RNG, which ``seed`` fixes: a run
    is reproducible, but a resumed run draws other shifts than an uninterrupted one would.
    """

    def __init__(self, max_shift: int = 2, flip_probability: float = 0.5) -> None:
        if max_shift < 0:
            raise ValueError(f"max_shift={max_shift} must be ≥ 0")
        if not 0 <= flip_probability <= 1:
            raise ValueError(f"flip_probability={flip_probability} must be in [0, 1]")
        self.max_shift = max_shift
        self.flip_probability = flip_probability

    def __call__(self, images: Tensor) -> Tensor:
        count, _, height, width = images.shape
        device = images.device
        flips = torch.rand(count, device=device) < self.flip_probability
        images = torch.where(flips.view(-1, 1, 1, 1), images.flip(-1), images)
        if self.max_shift == 0:
            return images
        shift = self.max_shift
        padded = torch.nn.functional.pad(images, (shift, shift, shift, shift))
        offsets_y = torch.randint(0, 2 * shift + 1, (count,), device=device)
        offsets_x = torch.randint(0, 2 * shift + 1, (count,), device=device)
        rows = (offsets_y.view(-1, 1) + torch.arange(height, device=device)).view(count, 1, height, 1)
        columns = (offsets_x.view(-1, 1) + torch.arange(width, device=device)).view(count, 1, 1, width)
        batch = torch.arange(count, device=device).view(-1, 1, 1, 1)
        channels = torch.arange(images.shape[1], device=device).view(1, -1, 1, 1)
        return padded[batch, channels, rows, columns]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(max_shift={self.max_shift}, flip_probability={self.flip_probability})"
