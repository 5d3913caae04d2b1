"""The benchmarks' data: the full Fashion-MNIST set if it is in data/, else a generated 60k-image
IDX set in torchvision's raw layout (random pixels: the model's work per image is the same)."""

import os
import struct
import tempfile
from pathlib import Path

import numpy as np

from torch_lessons.datamodules.fashion_mnist_source import FULL_DIR_NAME, full_set_present

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def write_idx(path: Path, array: np.ndarray) -> None:
    """IDX: magic (0, 0, 0x08 = uint8, number of dimensions), big-endian sizes, then the bytes."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def generated_full_set(root: Path, train_size: int = 60_000, test_size: int = 10_000) -> Path:
    raw_dir = root / FULL_DIR_NAME / "FashionMNIST" / "raw"
    raw_dir.mkdir(parents=True, exist_ok=True)
    generator = np.random.default_rng(0)
    for prefix, size in (("train", train_size), ("t10k", test_size)):
        write_idx(raw_dir / f"{prefix}-images-idx3-ubyte", generator.integers(0, 256, (size, 28, 28)))
        write_idx(raw_dir / f"{prefix}-labels-idx1-ubyte", generator.integers(0, 10, (size,)))
    return root


def benchmark_data_dir() -> tuple[Path, str]:
    """A data_dir holding a full-size set, and a word on which one it is."""
    project_data = PROJECT_ROOT / "data"
    if full_set_present(project_data / FULL_DIR_NAME):
        return project_data, f"the full Fashion-MNIST set in {project_data}"
    root = Path(tempfile.mkdtemp(prefix="fashion-mnist-bench-", dir=os.environ.get("TMPDIR")))
    return generated_full_set(root), f"a generated 60,000/10,000-image IDX set in {root}"
