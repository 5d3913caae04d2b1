"""The bundled Fashion-MNIST sample, how a source is chosen, and the small-table datamodule."""

import logging
import shutil
from pathlib import Path

import pytest
import torch
from torchvision.datasets import FashionMNIST

from torch_lessons.datamodules import fashion_mnist_source
from torch_lessons.datamodules.fashion_mnist import FashionMNISTDataModule
from torch_lessons.datamodules.fashion_mnist_source import FULL_DIR_NAME, extract_sample, resolve_source
from torch_lessons.datamodules.in_memory import BatchGroup
from torch_lessons.datamodules.table import TableDataModule
from torch_lessons.errors import ConfigError


def no_network(root: Path, timeout_seconds: float) -> str:
    return "no network in this test"


def test_bundled_sample_is_the_real_subset(data_dir: Path) -> None:
    """3,615 train / 2,000 test images: the first ones of the official splits, labels spot-checked."""
    root = str(extract_sample(data_dir))
    train_split = FashionMNIST(root, train=True)
    test_split = FashionMNIST(root, train=False)
    assert (len(train_split), len(test_split)) == (3615, 2000)
    assert tuple(train_split.data.shape[1:]) == (28, 28) and train_split.data.dtype == torch.uint8
    assert train_split.targets[:10].tolist() == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]
    assert test_split.targets[:10].tolist() == [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]
    assert train_split.targets[-3:].tolist() == [7, 1, 7] and test_split.targets[-3:].tolist() == [3, 6, 0]
    assert torch.bincount(train_split.targets).tolist() == [335, 394, 357, 375, 357, 357, 362, 376, 342, 360]
    assert (int(train_split.data[0].sum()), int(test_split.data[0].sum())) == (76247, 33456)
    assert FashionMNIST.classes[test_split.targets[0]] == "Ankle boot"


def test_datamodule_splits_and_normalizes(data_dir: Path) -> None:
    datamodule = FashionMNISTDataModule(str(data_dir), source="sample", val_fraction=0.1, shuffle_seed=0)
    datamodule.prepare_data()
    datamodule.setup("fit")
    assert [len(datamodule.splits[split][1]) for split in ("train", "val", "test")] == [3253, 362, 2000]
    group = next(iter(datamodule.train_dataloader()))
    assert isinstance(group, BatchGroup) and len(group) == 51, "up to 64 batches at a time: all 51 of the sample's"
    images, labels = group.batches[0]
    assert images.shape == (64, 1, 28, 28) and images.dtype == torch.float32
    assert 0.0 <= images.min() and images.max() <= 1.0
    assert labels.dtype == torch.int64
    again = FashionMNISTDataModule(str(data_dir), source="sample", val_fraction=0.1, shuffle_seed=1)
    again.setup("fit")
    assert datamodule.splits["val"][1] == again.splits["val"][1], "the held-out rows depend on split_seed only"
    assert not set(datamodule.splits["val"][1]) & set(datamodule.splits["train"][1])


def test_in_memory_batches_equal_torchvisions_per_sample_path(data_dir: Path) -> None:
    """Same rows, same order (shuffle off): the in-memory batch is bit-identical to ToTensor()'s."""
    in_memory = FashionMNISTDataModule(str(data_dir), source="sample", in_memory=True)
    per_sample = FashionMNISTDataModule(str(data_dir), source="sample", in_memory=False)
    for datamodule in (in_memory, per_sample):
        datamodule.setup("fit")
    groups = list(in_memory.val_dataloader())
    assert all(isinstance(group, BatchGroup) for group in groups), "validation batches come in groups, as training's"
    fast_batches = [one_batch for group in groups for one_batch in group]
    for (fast_images, fast_labels), (slow_images, slow_labels) in zip(
        fast_batches, per_sample.val_dataloader(), strict=True
    ):
        assert torch.equal(fast_images, slow_images) and torch.equal(fast_labels, slow_labels)


def test_per_sample_transform_needs_the_per_sample_path(data_dir: Path) -> None:
    from torchvision.transforms import RandomHorizontalFlip

    with pytest.raises(ConfigError, match="data.transform=RandomHorizontalFlip runs per image.*data.in_memory=false"):
        FashionMNISTDataModule(str(data_dir), source="sample", transform=RandomHorizontalFlip())
    FashionMNISTDataModule(str(data_dir), source="sample", in_memory=False, transform=RandomHorizontalFlip())


def test_auto_falls_back_to_the_sample_and_says_why(data_dir, monkeypatch, caplog) -> None:
    monkeypatch.setattr(fashion_mnist_source, "download_full_set", no_network)
    datamodule = FashionMNISTDataModule(str(data_dir), source="auto")
    with caplog.at_level(logging.INFO):
        datamodule.prepare_data()
    assert datamodule.resolved.source == "sample"
    lines = [record.getMessage() for record in caplog.records if "using the" in record.getMessage()]
    assert len(lines) == 1 and "sample" in lines[0] and "no network in this test" in lines[0]


def test_auto_uses_the_full_set_when_present(tmp_path: Path, data_dir: Path, monkeypatch) -> None:
    """Files in <data_dir>/fashion-mnist/FashionMNIST/raw are used without any download."""
    monkeypatch.setattr(fashion_mnist_source, "download_full_set", pytest.fail)
    sample_raw = extract_sample(data_dir) / "FashionMNIST" / "raw"
    shutil.copytree(sample_raw, tmp_path / FULL_DIR_NAME / "FashionMNIST" / "raw")
    resolved = resolve_source("auto", tmp_path, allow_download=True, timeout_seconds=1)
    assert resolved.source == "full" and resolved.root == tmp_path / FULL_DIR_NAME


def test_full_without_files_or_network_is_one_clear_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(fashion_mnist_source, "download_full_set", no_network)
    with pytest.raises(ConfigError, match=r"data.source=full: .* could not be downloaded \(no network in this test\)"):
        resolve_source("full", tmp_path, allow_download=True, timeout_seconds=1)


def test_unknown_source_names_the_choices(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="data.source='web' is not one of auto, full, sample"):
        resolve_source("web", tmp_path, allow_download=False, timeout_seconds=1)


def test_download_failure_is_reported_not_raised(tmp_path: Path, monkeypatch) -> None:
    """torchvision's download errors become the one-line reason (no network access is attempted)."""

    def refuse(self) -> None:
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz:\nTried mirror, got:\nconnection refused")

    monkeypatch.setattr(FashionMNIST, "download", refuse)
    assert fashion_mnist_source.download_full_set(tmp_path, timeout_seconds=1) == "connection refused"


def test_sample_extraction_keeps_existing_files(tmp_path: Path) -> None:
    raw_dir = extract_sample(tmp_path) / "FashionMNIST" / "raw"
    labels = raw_dir / "t10k-labels-idx1-ubyte"
    labels.write_bytes(b"the user's own file")
    extract_sample(tmp_path)
    assert labels.read_bytes() == b"the user's own file"
    assert not list(raw_dir.glob(".*")), "no temporary files are left behind"


def test_table_serves_shuffled_batches_and_the_whole_table() -> None:
    table = TableDataModule(
        inputs=[[1], [2], [3], [4], [5]],
        targets=[[15], [20], [34], [42], [58]],
        num_inputs=1,
        num_outputs=1,
        batch_size=2,
        batches_per_group=2,
    )
    groups = list(table.train_dataloader())
    assert [[len(targets) for _, targets in group] for group in groups] == [[2, 2], [1]]
    ((inputs, targets),) = list(table.val_dataloader())
    assert inputs.flatten().tolist() == [1, 2, 3, 4, 5] and targets.flatten().tolist() == [15, 20, 34, 42, 58]


@pytest.mark.parametrize(
    ("inputs", "targets", "message"),
    [
        ([[1], [2]], [[15]], "data.inputs has 2 rows but data.targets has 1"),
        ([[1, 2]], [[15]], r"data.inputs rows must each have 1 values, got rows of width \[2\]"),
        ([], [], "data.inputs is empty"),
    ],
)
def test_table_shape_errors_name_the_key(inputs, targets, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        TableDataModule(inputs=inputs, targets=targets, num_inputs=1, num_outputs=1, batch_size=2)
