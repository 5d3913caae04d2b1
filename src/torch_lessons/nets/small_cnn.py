"""A small convolutional net for 28×28 grey images: 3×3 conv blocks with pooling, then a linear head."""

from collections.abc import Sequence

from torch import Tensor, nn


class SmallCNN(nn.Module):
    """One block per entry of ``channels`` — ``Conv2d(3×3, padding 1) → BatchNorm2d → ReLU → MaxPool2d(2)`` —
    then ``Flatten → Dropout → Linear`` to ``num_classes`` logits.

    ``SmallCNN(channels=[32, 64])`` is the classic 2-conv Fashion-MNIST net: 28×28 → 14×14 → 7×7, so the
    head takes 64·7·7 values. ``image_size`` and ``in_channels`` size the head for other images.
    ``batch_norm=False`` leaves the normalisation out. Blocks are called ``features``, the head ``head``.
    """

    def __init__(
        self,
        channels: Sequence[int] = (32, 64),
        num_classes: int = 10,
        in_channels: int = 1,
        image_size: int = 28,
        dropout: float = 0.0,
        batch_norm: bool = True,
    ) -> None:
        super().__init__()
        sizes = [int(in_channels), *(int(count) for count in channels)]
        if len(sizes) < 2 or any(size < 1 for size in sizes):
            raise ValueError(f"model.channels must list at least one positive channel count, got {list(channels)}")
        if image_size >> (len(sizes) - 1) < 1:
            raise ValueError(
                f"model.image_size={image_size} is too small for {len(sizes) - 1} blocks that each halve the image"
            )
        if not 0 <= dropout < 1:
            raise ValueError(f"model.dropout={dropout} must be in [0, 1)")
        blocks: list[nn.Module] = []
        for size_in, size_out in zip(sizes, sizes[1:], strict=False):
            blocks.append(nn.Conv2d(size_in, size_out, kernel_size=3, padding=1, bias=not batch_norm))
            if batch_norm:
                blocks.append(nn.BatchNorm2d(size_out))
            blocks += [nn.ReLU(), nn.MaxPool2d(2)]
        self.features = nn.Sequential(*blocks)
        side = image_size >> (len(sizes) - 1)
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(sizes[-1] * side * side, num_classes))

    def forward(self, inputs: Tensor) -> Tensor:
        return self.head(self.features(inputs))
