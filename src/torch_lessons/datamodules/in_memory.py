"""Batches sliced from tensors held in memory: one indexing op per batch, no per-sample Python.

Lightning treats ``InMemoryBatches`` like a DataLoader: it calls ``sampler.set_epoch`` at every
epoch start (so each epoch has its own seeded order), and it saves ``state_dict()`` in checkpoints
and restores it on resume (so a run stopped mid-epoch continues with the very next batch).

With ``batches_per_group`` > 1 each item Lightning receives is a ``BatchGroup`` of up to that many
consecutive batches, which the module trains (or validates) one batch at a time: Lightning's fixed
cost per item is then paid once per group. Lightning counts groups; everything a user sets or reads is
counted in batches here instead: the epoch's length (``limit_train_batches``, ``limit_val_batches``,
``overfit_batches``, ``fast_dev_run``, ``num_sanity_val_steps``), the saved position (the batches
actually trained, even when a run stops inside a group) and each group's place in the epoch (for
accumulation, schedulers and the progress bar).
"""

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import lightning as L
import torch
from torch import Tensor

from torch_lessons.errors import ConfigError


@dataclass
class EpochPermutation:
    """The rows one rank visits in one epoch: a permutation seeded by ``seed + epoch``, then every
    ``world_size``-th row from ``rank`` on.

    With ``pad`` (training) the shards are padded by wrapping around so that every rank gets the
    same number of rows and takes the same number of optimizer steps (what ``DistributedSampler``
    does). Without it (validation, test) each row is in exactly one shard and the shards may differ
    by one row: the metrics sync their sums and counts over the ranks, so they count every example
    once, where padding would count some twice."""

    num_rows: int
    shuffle: bool
    seed: int
    rank: int = 0
    world_size: int = 1
    epoch: int = 0
    pad: bool = True

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        if self.pad:
            return math.ceil(self.num_rows / self.world_size)
        return len(range(self.rank, self.num_rows, self.world_size))

    def indices(self) -> Tensor:
        if self.shuffle:
            generator = torch.Generator().manual_seed(self.seed + self.epoch)
            order = torch.randperm(self.num_rows, generator=generator)
        else:
            order = torch.arange(self.num_rows)
        padded_size = math.ceil(self.num_rows / self.world_size) * self.world_size
        if self.pad and padded_size > self.num_rows:
            order = torch.cat([order, order[: padded_size - self.num_rows]])
        return order[self.rank :: self.world_size]


class BatchGroup:
    """Consecutive ``(inputs, targets)`` batches of one epoch, handed to Lightning as one item.

    ``first_batch`` is the epoch index of its first batch and ``epoch_batches`` the number of
    batches in the epoch, so the module knows where each batch falls (the epoch's last batch, an
    accumulation boundary). The module raises ``trained`` after each batch it trains: the loader's
    saved position is ``first_batch + trained``, so a stop inside the group resumes at the very next
    untrained batch. Deliberately not a tuple or dataclass: Lightning then passes it through as is
    (the tensors are already on the device) instead of rebuilding it per group.
    """

    def __init__(self, batches: list[tuple[Tensor, Tensor]], first_batch: int, epoch_batches: int) -> None:
        self.batches = batches
        self.first_batch = first_batch
        self.epoch_batches = epoch_batches
        self.trained = 0

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        return iter(self.batches)

    @property
    def batches_done(self) -> int:
        """Batches of the epoch trained once this group's trained batches are counted."""
        return self.first_batch + self.trained


class InMemoryBatches:
    """Yields ``(inputs, targets)`` batches by indexing ``inputs`` and ``targets`` once per batch.

    ``convert_inputs`` runs on each whole batch (e.g. uint8 images → float in [0, 1]), so the
    stored tensors stay compact. A checkpoint records how many batches of the epoch were trained;
    Lightning does not fetch ahead from a loader that has a length. With ``batches_per_group`` > 1
    it yields ``BatchGroup``s, sliced from one indexing op per group, aligned to multiples of
    ``batches_per_group`` from the epoch's start (a resumed epoch's first group is shorter), so
    that Lightning's count of items stays that of an uninterrupted epoch.

    With ``val_check_groups``, the batches after an epoch's last validation check come in fewer
    items than that, so that Lightning's check (every ``val_check_groups`` items) falls where one
    batch per item would put it.

    ``batch_limit`` caps the batches per epoch as Lightning's ``limit_train_batches`` would, but
    in batches: an int is a count, a float a share of the epoch (``int(batches × share)``).
    ``iteration_limit``, when set, is asked at the start of each iteration for a further cap (Lightning's
    sanity check validates ``num_sanity_val_steps`` batches, not that many groups); the loader's length
    does not change with it, since Lightning reads the length once for the sanity check and validation.
    """

    batch_sampler = None  # looked up by Lightning beside ``sampler``, as on a DataLoader

    def __init__(
        self,
        inputs: Tensor,
        targets: Tensor,
        batch_size: int,
        sampler: EpochPermutation,
        convert_inputs: Callable[[Tensor], Tensor] | None = None,
        batches_per_group: int = 1,
        batch_limit: int | float = 1.0,
    ) -> None:
        self.inputs = inputs
        self.targets = targets
        self.batch_size = batch_size
        self.sampler = sampler
        self.convert_inputs = convert_inputs
        self.batches_per_group = batches_per_group
        self.batch_limit = batch_limit
        self.handed_out = 0
        self.current_group: BatchGroup | None = None
        # Lightning's val_check_interval in groups (an int ≥ 2, batch_counts.py), for a grouping loader.
        self.val_check_groups: int | None = None
        self.iteration_limit: Callable[[], int | None] | None = None
        self.resume_at: tuple[int, int] | None = None

    @property
    def num_batches(self) -> int:
        """Batches per epoch, after ``batch_limit``."""
        available = math.ceil(len(self.sampler) / self.batch_size)
        if isinstance(self.batch_limit, int):
            return min(available, self.batch_limit)
        return int(available * self.batch_limit)

    def __len__(self) -> int:
        """Items per epoch: batches, or groups of them."""
        return len(self.group_starts())

    def group_starts(self) -> list[int]:
        """The epoch index of each group's first batch: every ``batches_per_group``; with
        ``val_check_groups`` (Lightning validates after every that many items) the batches after the
        epoch's last check go in fewer items than that, so they end no check early."""
        size, total = self.batches_per_group, self.num_batches
        if self.val_check_groups is None:
            return list(range(0, total, size))
        checked = total // (size * self.val_check_groups) * size * self.val_check_groups
        trailing = total - checked
        starts = list(range(0, checked, size))
        if trailing:
            part = math.ceil(trailing / min(trailing, self.val_check_groups - 1))
            starts += list(range(checked, total, part))
        return starts

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor] | BatchGroup]:
        first_batch = 0
        if self.resume_at is not None:
            # On resume Lightning may create the iterator before it calls set_epoch, so the saved
            # state, not the sampler, says where to continue; unless Lightning has already moved the
            # sampler past the saved epoch (a stop after the epoch's last batch, e.g. while validating:
            # Lightning finishes that epoch without training, then starts the next), when it is stale.
            epoch, first_batch = self.resume_at
            if first_batch >= self.num_batches:
                epoch, first_batch = epoch + 1, 0
            if epoch < self.sampler.epoch:
                epoch, first_batch = self.sampler.epoch, 0
            self.sampler.set_epoch(epoch)
            self.resume_at = None
        num_batches = self.num_batches
        if self.iteration_limit is not None and (limit := self.iteration_limit()) is not None:
            num_batches = min(num_batches, limit)
        indices = self.sampler.indices().to(self.inputs.device)[: num_batches * self.batch_size]
        self.handed_out = first_batch
        self.current_group = None
        group_size = self.batches_per_group
        first_batches = [first_batch, *(start for start in self.group_starts() if first_batch < start < num_batches)]
        for start, end in zip(first_batches, [*first_batches[1:], num_batches], strict=True):
            if start >= end:
                break
            item_indices = indices[start * self.batch_size : end * self.batch_size]
            inputs = self.inputs[item_indices]
            if self.convert_inputs is not None:
                inputs = self.convert_inputs(inputs)
            targets = self.targets[item_indices]
            if group_size == 1:
                self.handed_out += 1
                yield inputs, targets
                continue
            batches = list(zip(inputs.split(self.batch_size), targets.split(self.batch_size), strict=True))
            self.current_group = BatchGroup(batches, start, num_batches)
            self.handed_out = end
            yield self.current_group

    def state_dict(self) -> dict[str, int]:
        """The epoch and the batches of it trained: a group's untrained batches are not counted."""
        done = self.current_group.batches_done if self.current_group is not None else self.handed_out
        return {"epoch": self.sampler.epoch, "batches_done": done}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """The next iteration continues that epoch after the batches already done (or starts the
        following epoch if that one was finished); counted in batches, so a checkpoint resumes
        exactly whatever ``batches_per_group`` either run used."""
        self.resume_at = (state["epoch"], state["batches_done"])


class InMemoryDataModule(L.LightningDataModule):
    """Base for datamodules whose splits are tensors: builds ``InMemoryBatches`` on the Trainer's
    device, sharded by its rank among ``world_size`` processes (padded for training only). Its
    subclasses fulfil the task data contract (contract.py)."""

    shuffle_seed: int
    # A fractional limit_train_batches / limit_val_batches, applied in batches by a grouping loader
    # (batch_counts.py moves them here from the Trainer, which would apply them to the number of groups).
    train_batch_share: float = 1.0
    val_batch_share: float = 1.0

    def in_memory_batches(
        self,
        inputs: Tensor,
        targets: Tensor,
        batch_size: int,
        shuffle: bool,
        convert_inputs: Callable[[Tensor], Tensor] | None = None,
        batches_per_group: int = 1,
        split: str = "train",
    ) -> InMemoryBatches:
        """A loader for ``split`` ("train", "val" or "test"). Only training pads the shards; validation
        and test count every example once (EpochPermutation). A grouping loader applies the Trainer's
        limits for its split in batches (test loaders do not group)."""
        trainer = self.trainer
        rank, world_size, device = 0, 1, torch.device("cpu")
        if trainer is not None:
            rank, world_size, device = trainer.global_rank, trainer.world_size, trainer.strategy.root_device
            shuffle = shuffle and not trainer.overfit_batches  # as Lightning does for a DataLoader
        if split != "train":
            self.check_unpadded_shards(split, len(inputs))
        sampler = EpochPermutation(len(inputs), shuffle, self.shuffle_seed, rank, world_size, pad=split == "train")
        grouped = batches_per_group > 1 and split in ("train", "val")
        group_size = batches_per_group if grouped else 1
        loader = InMemoryBatches(inputs.to(device), targets.to(device), batch_size, sampler, convert_inputs, group_size)
        if trainer is not None and grouped:
            count_groups_in_batches(loader, trainer, split, getattr(self, f"{split}_batch_share"))
        return loader

    def check_unpadded_shards(self, split: str, rows: int) -> None:
        """Validation and test shards are not padded (every example counted once): with fewer rows than
        processes a rank would get none, and Lightning would refuse its empty loader on that rank alone
        while the others wait. Every rank raises this alike; a subclass calls it from ``setup`` too, so
        that it is said before anything is trained."""
        world_size = self.trainer.world_size if self.trainer is not None else 1
        if rows < world_size:
            raise ConfigError(
                f"the {split} split has {rows} rows, fewer than the {world_size} processes "
                f"(trainer.devices × trainer.num_nodes) that validate and test it without padding; "
                f"use at most {rows} processes"
            )

    def example_batch(self, count: int = 2) -> tuple[Tensor, Tensor]:
        """The first ``count`` real examples of the validation split, prepared and set up as Lightning would."""
        self.prepare_data()
        self.setup("fit")
        first = next(iter(self.val_dataloader()))
        inputs, targets = first.batches[0] if isinstance(first, BatchGroup) else first
        return inputs[:count], targets[:count]


def count_groups_in_batches(loader: InMemoryBatches, trainer: L.Trainer, split: str, batch_share: float) -> None:
    """Has a grouping ``loader`` apply, in batches, the Trainer settings that Lightning would apply to
    its items (groups): the split's ``limit_*_batches`` (an int from the Trainer, a fraction moved to the
    datamodule), the training loader's ``val_check_interval`` in groups, and the validation loader's
    ``num_sanity_val_steps`` while the sanity check runs."""
    limit = trainer.limit_train_batches if split == "train" else trainer.limit_val_batches
    loader.batch_limit = limit if isinstance(limit, int) else batch_share
    if split == "train" and isinstance(trainer.val_check_interval, int):
        loader.val_check_groups = trainer.val_check_interval
    if split == "val":
        loader.iteration_limit = lambda: sanity_check_batches(trainer)


def sanity_check_batches(trainer: L.Trainer) -> int | None:
    """The validation batches Lightning's sanity check runs while it runs (``num_sanity_val_steps``; -1 is
    all, which Lightning stores as infinity), else None."""
    if not trainer.sanity_checking or math.isinf(trainer.num_sanity_val_steps):
        return None
    return int(trainer.num_sanity_val_steps)


def resolve_shuffle_seed(shuffle_seed: int | None) -> int:
    """The seed of every epoch's order; None draws one from torch's RNG (fixed by seed_everything)."""
    if shuffle_seed is not None:
        return int(shuffle_seed)
    return int(torch.randint(0, 2**31 - 1, (1,)).item())
