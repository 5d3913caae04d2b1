"""Fashion-MNIST through ``torchvision.datasets.FashionMNIST``, with a validation split from train."""

import logging
from collections.abc import Callable
from pathlib import Path

import torch
from lightning.pytorch.overrides.distributed import UnrepeatedDistributedSampler
from torch import Tensor
from torch.utils.data import DataLoader, Subset, TensorDataset, random_split
from torchvision.datasets import FashionMNIST
from torchvision.transforms import ToTensor

from torch_lessons.datamodules.fashion_mnist_source import ResolvedSource, resolve_source
from torch_lessons.datamodules.idx_files import check_raw_files
from torch_lessons.datamodules.image_files import read_images
from torch_lessons.datamodules.in_memory import InMemoryBatches, InMemoryDataModule, resolve_shuffle_seed
from torch_lessons.errors import ConfigError

log = logging.getLogger(__name__)
SPLITS = ("train", "val", "test")


def images_to_float(images: Tensor) -> Tensor:
    """A batch of uint8 ``N×28×28`` images as ``ToTensor()`` makes them: ``N×1×28×28`` floats in [0, 1]."""
    return images.unsqueeze(1).float().div_(255)


class FashionMNISTDataModule(InMemoryDataModule):
    """28×28 grey images of 10 kinds of clothing (``ClassificationData``); test is the official test split.

    ``source`` is ``auto`` (the full set if present or downloadable, else the bundled sample),
    ``full`` or ``sample``; the choice and its reason are logged in one line. ``val_fraction`` of
    the training split, drawn with ``split_seed``, is held out for validation, so the same images
    are held out whatever the run's own seed. ``validate_on_test=True`` instead trains on the whole
    training split and validates on the test split, as the Quickstart's per-epoch test loop does.

    ``in_memory=True`` (default) keeps each split as one uint8 tensor on the Trainer's device and
    slices shuffled batches from it, scaling them as ``ToTensor()`` does (uint8/255), and hands
    the training batches (one optimizer step each) and the validation batches to Lightning in groups
    of ``batches_per_group``;
    ``in_memory=False`` is torchvision's per-sample path through a DataLoader, for a ``transform``
    that must run per image. ``train_augmentation`` (in memory only) is applied to each training
    batch after scaling, e.g. ``RandomShiftFlip`` (augmentation.py).
    """

    def __init__(
        self,
        data_dir: str,
        source: str = "auto",
        batch_size: int = 64,
        val_fraction: float = 0.1,
        split_seed: int = 42,
        shuffle: bool = True,
        shuffle_seed: int | None = None,
        in_memory: bool = True,
        batches_per_group: int = 64,
        num_workers: int = 0,
        num_classes: int = 10,
        download_timeout: float = 10.0,
        validate_on_test: bool = False,
        transform: Callable | None = None,
        train_augmentation: Callable[[Tensor], Tensor] | None = None,
        predict_inputs: str | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["transform", "train_augmentation"], logger=False)
        class_count = len(FashionMNIST.classes)
        if num_classes != class_count:
            raise ConfigError(f"data.num_classes={num_classes}, but Fashion-MNIST has {class_count} classes")
        self.transform = transform if transform is not None else ToTensor()
        if train_augmentation is not None and not in_memory:
            raise ConfigError(
                "data.train_augmentation works on in-memory batches (data.in_memory=true); "
                "with data.in_memory=false put a per-image augmentation into data.transform"
            )
        self.train_augmentation = train_augmentation
        if in_memory and not isinstance(self.transform, ToTensor):
            raise ConfigError(
                f"data.transform={type(self.transform).__name__} runs per image, but data.in_memory=true scales "
                f"whole batches as ToTensor does; set data.in_memory=false to use the transform"
            )
        self.data_dir = Path(data_dir)
        self.source = source
        self.batch_size = batch_size
        self.val_fraction = val_fraction
        self.split_seed = split_seed
        self.shuffle = shuffle
        self.shuffle_seed = resolve_shuffle_seed(shuffle_seed)
        self.in_memory = in_memory
        self.batches_per_group = batches_per_group
        self.num_workers = num_workers
        self.download_timeout = download_timeout
        self.validate_on_test = validate_on_test
        self.num_classes = num_classes
        self.class_names: list[str] = list(FashionMNIST.classes)
        self.resolved: ResolvedSource | None = None
        self.splits: dict[str, tuple[FashionMNIST, list[int]]] = {}
        if predict_inputs is not None and not isinstance(predict_inputs, str):
            raise ConfigError(
                f"inputs={predict_inputs}: Fashion-MNIST predictions take image files: a file, a directory or a glob"
            )
        self.predict_inputs = predict_inputs
        self.predict_labels: list[str] = []
        self.predict_images: Tensor | None = None

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
        """Reads each IDX file once and decides which rows of it form each split; to predict
        ``predict_inputs``, reads those images instead (the data set is not needed)."""
        if stage == "predict" and self.predict_inputs is not None:
            if self.predict_images is None:
                self.predict_labels, self.predict_images = read_images(self.predict_inputs)
            return
        if self.splits:
            return
        root = str(self.resolve(allow_download=False).root)
        check_raw_files(Path(root) / "FashionMNIST" / "raw", len(self.class_names))
        train_file = FashionMNIST(root, train=True, download=False, transform=self.transform)
        test_file = FashionMNIST(root, train=False, download=False, transform=self.transform)
        all_test_rows = list(range(len(test_file)))
        if self.validate_on_test:
            train_rows, val_file, val_rows = list(range(len(train_file))), test_file, all_test_rows
        else:
            val_size = round(len(train_file) * self.val_fraction)
            train_size = len(train_file) - val_size
            if val_size < 1 or train_size < 1:
                empty, bound = (
                    ("validation", f"at least {1 / len(train_file):.3g}")
                    if val_size < 1
                    else ("training", f"at most {1 - 1 / len(train_file):.6g}")
                )
                raise ConfigError(
                    f"data.val_fraction={self.val_fraction} leaves 0 of the {len(train_file)} training images for "
                    f"{empty}; use {bound} (one image)"
                )
            generator = torch.Generator().manual_seed(self.split_seed)
            train_subset, val_subset = random_split(range(len(train_file)), [train_size, val_size], generator)
            train_rows, val_file, val_rows = list(train_subset), train_file, list(val_subset)
        self.splits = {
            "train": (train_file, train_rows),
            "val": (val_file, val_rows),
            "test": (test_file, all_test_rows),
        }
        log.info(
            "Fashion-MNIST %s set: %d train, %d %s, %d test images (%s)",
            self.resolved.source,
            len(train_rows),
            len(val_rows),
            "validation (the test split)" if self.validate_on_test else "validation",
            len(all_test_rows),
            "in memory" if self.in_memory else "per-sample DataLoader",
        )

    def _loader(
        self, split: str, shuffle: bool, batches_per_group: int = 1, augmentation: Callable | None = None
    ) -> InMemoryBatches | DataLoader:
        split_file, rows = self.splits[split]
        if self.in_memory:
            row_index = torch.tensor(rows)
            convert = images_to_float if augmentation is None else lambda images: augmentation(images_to_float(images))
            return self.in_memory_batches(
                split_file.data[row_index],
                split_file.targets[row_index],
                self.batch_size,
                shuffle,
                convert_inputs=convert,
                batches_per_group=batches_per_group,
                split=split,
            )
        dataset = Subset(split_file, rows)
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            shuffle=shuffle,
            sampler=self.unpadded_shard(dataset) if split != "train" else None,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

    def unpadded_shard(self, dataset: Subset) -> UnrepeatedDistributedSampler | None:
        """Under DDP, this rank's share of a validation/test split with no example repeated (Lightning
        would pad with its ``DistributedSampler``, counting some twice); None in one process."""
        trainer = self.trainer
        if trainer is None or trainer.world_size == 1:
            return None
        return UnrepeatedDistributedSampler(dataset, trainer.world_size, trainer.global_rank, shuffle=False)

    def train_dataloader(self) -> InMemoryBatches | DataLoader:
        return self._loader(
            "train", self.shuffle, batches_per_group=self.batches_per_group, augmentation=self.train_augmentation
        )

    def val_dataloader(self) -> InMemoryBatches | DataLoader:
        return self._loader("val", shuffle=False, batches_per_group=self.batches_per_group)

    def test_dataloader(self) -> InMemoryBatches | DataLoader:
        return self._loader("test", shuffle=False)

    def predict_dataloader(self) -> InMemoryBatches | DataLoader:
        """The images of ``predict_inputs``, scaled as the training images are; without them the test split."""
        if self.predict_images is None:
            return self.test_dataloader()
        return DataLoader(TensorDataset(images_to_float(self.predict_images)), batch_size=self.batch_size)

    def target_columns(self, target: Tensor) -> dict[str, str]:
        """The class name, for predictions.csv."""
        return {"predicted": self.class_names[int(target)]}

    def describe_target(self, target: Tensor) -> str:
        """The class name in quotes, as the Quickstart prints ``Predicted: "Ankle boot"``."""
        return f'"{self.class_names[int(target)]}"'
