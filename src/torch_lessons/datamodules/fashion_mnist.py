"""Fashion-MNIST through ``torchvision.datasets.FashionMNIST``, with a validation split from train."""

import logging
from collections.abc import Callable
from pathlib import Path

import lightning as L
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, random_split
from torchvision.datasets import FashionMNIST
from torchvision.transforms import ToTensor

from torch_lessons.datamodules.fashion_mnist_source import ResolvedSource, resolve_source
from torch_lessons.datamodules.idx_files import check_raw_files
from torch_lessons.errors import ConfigError

log = logging.getLogger(__name__)


class FashionMNISTDataModule(L.LightningDataModule):
    """28×28 grey images of 10 kinds of clothing; test is the official test split.

    ``source`` is ``auto`` (the full set if present or downloadable, else the bundled sample),
    ``full`` or ``sample``; the choice and its reason are logged in one line. ``val_fraction`` of
    the training split, drawn with ``split_seed``, is held out for validation, so the same images
    are held out whatever the run's own seed. ``validate_on_test=True`` instead trains on the whole
    training split and validates on the test split, as the Quickstart's per-epoch test loop does.
    ``transform`` defaults to ``ToTensor()`` (uint8/255).
    """

    def __init__(
        self,
        data_dir: str,
        source: str = "auto",
        batch_size: int = 64,
        val_fraction: float = 0.1,
        split_seed: int = 42,
        num_workers: int = 0,
        num_classes: int = 10,
        download_timeout: float = 10.0,
        validate_on_test: bool = False,
        transform: Callable | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["transform"], logger=False)
        class_count = len(FashionMNIST.classes)
        if num_classes != class_count:
            raise ConfigError(f"data.num_classes={num_classes}, but Fashion-MNIST has {class_count} classes")
        self.data_dir = Path(data_dir)
        self.source = source
        self.batch_size = batch_size
        self.val_fraction = val_fraction
        self.split_seed = split_seed
        self.num_workers = num_workers
        self.download_timeout = download_timeout
        self.validate_on_test = validate_on_test
        self.transform = transform if transform is not None else ToTensor()
        self.class_names: list[str] = list(FashionMNIST.classes)
        self.resolved: ResolvedSource | None = None
        self.datasets: dict[str, Dataset] = {}

    def resolve(self, allow_download: bool) -> ResolvedSource:
        """Decides the source once per process and says which one it is and why."""
        if self.resolved is None:
            self.resolved = resolve_source(self.source, self.data_dir, allow_download, self.download_timeout)
            log.info("Fashion-MNIST: using the %s set (%s)", self.resolved.source, self.resolved.reason)
        return self.resolved

    def prepare_data(self) -> None:
        """Runs on one process per node: the only place that downloads or unpacks files."""
        self.resolve(allow_download=True)

    def setup(self, stage: str | None = None) -> None:
        if self.datasets:
            return
        root = str(self.resolve(allow_download=False).root)
        check_raw_files(Path(root) / "FashionMNIST" / "raw")
        train_and_val = FashionMNIST(root, train=True, download=False, transform=self.transform)
        self.datasets["test"] = FashionMNIST(root, train=False, download=False, transform=self.transform)
        if self.validate_on_test:
            self.datasets["train"], self.datasets["val"] = train_and_val, self.datasets["test"]
            log.info(
                "Fashion-MNIST %s set: %d train, %d test images (validating on test)",
                self.resolved.source,
                len(train_and_val),
                len(self.datasets["test"]),
            )
            return
        val_size = round(len(train_and_val) * self.val_fraction)
        train_size = len(train_and_val) - val_size
        if val_size < 1 or train_size < 1:
            raise ConfigError(
                f"data.val_fraction={self.val_fraction} leaves {train_size} training and {val_size} "
                f"validation images of {len(train_and_val)}; choose a fraction in (0, 1)"
            )
        generator = torch.Generator().manual_seed(self.split_seed)
        self.datasets["train"], self.datasets["val"] = random_split(
            train_and_val, [train_size, val_size], generator=generator
        )
        log.info(
            "Fashion-MNIST %s set: %d train, %d validation, %d test images",
            self.resolved.source,
            train_size,
            val_size,
            len(self.datasets["test"]),
        )

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        return DataLoader(
            self.datasets[split],
            batch_size=self.batch_size,
            shuffle=shuffle,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)

    def predict_dataloader(self) -> DataLoader:
        return self.test_dataloader()

    def describe_target(self, target: Tensor) -> str:
        """The class name in quotes, as the Quickstart prints ``Predicted: "Ankle boot"``."""
        return f'"{self.class_names[int(target)]}"'
