"""Corrupt or truncated Fashion-MNIST files are named, with what is wrong, before torchvision reads them."""

import shutil
from pathlib import Path

import pytest

from torch_lessons.datamodules.fashion_mnist import FashionMNISTDataModule
from torch_lessons.datamodules.fashion_mnist_source import FULL_DIR_NAME, extract_sample
from torch_lessons.errors import ConfigError


@pytest.fixture
def full_raw_dir(tmp_path: Path, data_dir: Path) -> Path:
    """A copy of the bundled sample laid out as the full set, so it can be damaged freely."""
    raw_dir = tmp_path / FULL_DIR_NAME / "FashionMNIST" / "raw"
    shutil.copytree(extract_sample(data_dir) / "FashionMNIST" / "raw", raw_dir)
    return raw_dir


def setup_full_set(data_dir: Path) -> None:
    FashionMNISTDataModule(str(data_dir), source="full").setup("fit")


def test_intact_files_pass(full_raw_dir: Path, tmp_path: Path) -> None:
    datamodule = FashionMNISTDataModule(str(tmp_path), source="full")
    datamodule.setup("fit")
    assert datamodule.resolved.source == "full" and len(datamodule.splits["test"][1]) == 2000


def test_truncated_file_names_the_file_and_sizes(full_raw_dir: Path, tmp_path: Path) -> None:
    images = full_raw_dir / "train-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:100_000])
    with pytest.raises(
        ConfigError,
        match=rf"^data file {images}: 100000 bytes, but its header promises 2834176 \(3615×28×28 values\); "
        r"the file is truncated: delete it and run again$",
    ):
        setup_full_set(tmp_path)


def test_wrong_magic_number_is_named(full_raw_dir: Path, tmp_path: Path) -> None:
    labels = full_raw_dir / "t10k-labels-idx1-ubyte"
    labels.write_bytes(b"<html>" + labels.read_bytes()[6:])
    with pytest.raises(
        ConfigError, match=rf"^data file {labels}: magic number 0x3c68746d, expected 0x00000801 \(IDX, unsigned bytes"
    ):
        setup_full_set(tmp_path)


def test_empty_file_is_too_short_for_a_header(full_raw_dir: Path, tmp_path: Path) -> None:
    labels = full_raw_dir / "train-labels-idx1-ubyte"
    labels.write_bytes(b"")
    with pytest.raises(ConfigError, match=rf"^data file {labels}: 0 bytes, too short for an IDX header"):
        setup_full_set(tmp_path)


def test_images_and_labels_that_do_not_pair_up(full_raw_dir: Path, tmp_path: Path) -> None:
    shutil.copy(full_raw_dir / "t10k-labels-idx1-ubyte", full_raw_dir / "train-labels-idx1-ubyte")
    with pytest.raises(ConfigError, match=r"3615 images of 28×28 but 2000 labels; expected one label per 28×28 image"):
        setup_full_set(tmp_path)
