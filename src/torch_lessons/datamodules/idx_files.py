"""Checks the raw IDX files before torchvision reads them.

torchvision trusts the header: a truncated download or a file of another kind ends in a reshape
error deep inside it, or worse, in a silently shorter dataset. Reading the 16-byte header and the
file size first lets the run name the file and what is wrong with it.
"""

import math
import struct
from pathlib import Path

from torch_lessons.errors import ConfigError

# IDX magic numbers: two zero bytes, 0x08 for unsigned bytes, then the number of dimensions.
IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801
IDX_FILES = {
    "train-images-idx3-ubyte": IMAGES_MAGIC,
    "train-labels-idx1-ubyte": LABELS_MAGIC,
    "t10k-images-idx3-ubyte": IMAGES_MAGIC,
    "t10k-labels-idx1-ubyte": LABELS_MAGIC,
}


def idx_shape(path: Path, expected_magic: int) -> tuple[int, ...]:
    """The dimensions the file's header promises, after checking its magic number and its size."""
    try:
        return read_idx_shape(path, expected_magic)
    except OSError as error:  # a directory in its place, no read permission, an I/O error
        raise ConfigError(
            f"data file {path}: cannot be read ({error.strerror or error}); replace it with the original IDX file"
        ) from None


def read_idx_shape(path: Path, expected_magic: int) -> tuple[int, ...]:
    size = path.stat().st_size
    with path.open("rb") as file:
        header = file.read(4)
        if len(header) < 4:
            raise ConfigError(f"data file {path}: {size} bytes, too short for an IDX header; delete it and run again")
        (magic,) = struct.unpack(">I", header)
        if magic != expected_magic:
            raise ConfigError(
                f"data file {path}: magic number 0x{magic:08x}, expected 0x{expected_magic:08x} "
                f"(IDX, unsigned bytes, {expected_magic & 0xFF} dimensions); replace it with the original file"
            )
        dimension_count = magic & 0xFF
        header_size = 4 + 4 * dimension_count
        if size < header_size:
            raise ConfigError(f"data file {path}: {size} bytes, too short for an IDX header; delete it and run again")
        dimensions = struct.unpack(f">{dimension_count}I", file.read(4 * dimension_count))
    expected_size = header_size + math.prod(dimensions)
    if size != expected_size:
        shape = "×".join(str(dimension) for dimension in dimensions)
        problem = "truncated" if size < expected_size else "has extra bytes"
        raise ConfigError(
            f"data file {path}: {size} bytes, but its header promises {expected_size} ({shape} values); "
            f"the file is {problem}: delete it and run again"
        )
    return dimensions


def check_labels(path: Path, class_count: int) -> None:
    """Every label is a class index, so a bad one fails here, not in the loss in the middle of training."""
    labels = path.read_bytes()[8:]
    highest = max(labels, default=0)
    if highest >= class_count:
        row = labels.index(highest)
        raise ConfigError(
            f"data file {path}: label {highest} at row {row}; labels must be 0–{class_count - 1} "
            f"(one per class): replace it with the original file"
        )


def check_raw_files(raw_dir: Path, class_count: int = 10) -> None:
    """Checks the four Fashion-MNIST files in ``raw_dir``, that images and labels pair up, and the labels."""
    shapes = {name: idx_shape(raw_dir / name, magic) for name, magic in IDX_FILES.items()}
    for name, magic in IDX_FILES.items():
        if magic == LABELS_MAGIC:
            check_labels(raw_dir / name, class_count)
    for split in ("train", "t10k"):
        images, labels = shapes[f"{split}-images-idx3-ubyte"], shapes[f"{split}-labels-idx1-ubyte"]
        if images[0] != labels[0] or images[1:] != (28, 28):
            raise ConfigError(
                f"data files {raw_dir / split}-*: {images[0]} images of {images[1]}×{images[2]} but "
                f"{labels[0]} labels; expected one label per 28×28 image"
            )
