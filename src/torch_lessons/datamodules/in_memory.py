"""Batches sliced from tensors held in memory: one indexing op per batch, no per-sample Python.

Lightning treats ``InMemoryBatches`` like a DataLoader: it calls ``sampler.set_epoch`` at every
epoch start (so each epoch has its own seeded order), and it saves ``state_dict()`` in checkpoints
and restores it on resume (so a run stopped mid-epoch continues with the very next batch).

With ``batches_per_group`` > 1 each item Lightning receives is a ``BatchGroup`` of that many
consecutive batches, which the module trains one optimizer step each: Lightning's fixed cost per
item is then paid once per group. Lightning's own counters (progress bar, ``limit_train_batches``,
its restart bookkeeping) count groups, consistently, since a group is what it iterates.
"""

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import lightning as L
import torch
from torch import Tensor


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


class BatchGroup(tuple):
    """Consecutive ``(inputs, targets)`` batches handed to Lightning as one item; each is its own
    optimizer step (``LessonModule.training_step``)."""


class InMemoryBatches:
    """Yields ``(inputs, targets)`` batches by indexing ``inputs`` and ``targets`` once per batch.

    ``convert_inputs`` runs on each whole batch (e.g. uint8 images → float in [0, 1]), so the
    stored tensors stay compact. A checkpoint records how many batches of the epoch were handed
    out; Lightning does not fetch ahead from a loader that has a length, so that is the number of
    batches trained on (tests/test_resume_exact.py holds it to that). With ``batches_per_group`` > 1
    it yields ``BatchGroup``s, sliced from one indexing op per group; the epoch's last may be shorter.
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
    ) -> None:
        self.inputs = inputs
        self.targets = targets
        self.batch_size = batch_size
        self.sampler = sampler
        self.convert_inputs = convert_inputs
        self.batches_per_group = batches_per_group
        self.handed_out = 0
        self.resume_at: tuple[int, int] | None = None

    @property
    def num_batches(self) -> int:
        return math.ceil(len(self.sampler) / self.batch_size)

    def __len__(self) -> int:
        """Items per epoch: batches, or groups of them."""
        return math.ceil(self.num_batches / self.batches_per_group)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor] | BatchGroup]:
        first_batch = 0
        if self.resume_at is not None:
            # On resume Lightning creates the iterator before it calls set_epoch, so the saved
            # state, not the sampler, says where to continue.
            epoch, first_batch = self.resume_at
            if first_batch >= self.num_batches:
                epoch, first_batch = epoch + 1, 0
            self.sampler.set_epoch(epoch)
            self.resume_at = None
        indices = self.sampler.indices().to(self.inputs.device)
        self.handed_out = first_batch
        item_size = self.batch_size * self.batches_per_group
        for start in range(first_batch * self.batch_size, len(indices), item_size):
            item_indices = indices[start : start + item_size]
            inputs = self.inputs[item_indices]
            if self.convert_inputs is not None:
                inputs = self.convert_inputs(inputs)
            targets = self.targets[item_indices]
            if self.batches_per_group == 1:
                self.handed_out += 1
                yield inputs, targets
                continue
            group = BatchGroup(zip(inputs.split(self.batch_size), targets.split(self.batch_size), strict=True))
            self.handed_out += len(group)
            yield group

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.sampler.epoch, "batches_done": self.handed_out}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """The next iteration continues that epoch after the batches already done (or starts the
        following epoch if that one was finished); counted in batches, so a checkpoint resumes
        exactly whatever ``batches_per_group`` either run used."""
        self.resume_at = (state["epoch"], state["batches_done"])


class InMemoryDataModule(L.LightningDataModule):
    """Base for datamodules whose splits are tensors: builds ``InMemoryBatches`` on the Trainer's
    device, sharded by its rank among ``world_size`` processes (padded for training only)."""

    shuffle_seed: int

    def in_memory_batches(
        self,
        inputs: Tensor,
        targets: Tensor,
        batch_size: int,
        shuffle: bool,
        convert_inputs: Callable[[Tensor], Tensor] | None = None,
        batches_per_group: int = 1,
        pad_shards: bool = True,
    ) -> InMemoryBatches:
        """``pad_shards=False`` for validation and test: every example counted once (EpochPermutation)."""
        trainer = self.trainer
        rank, world_size, device = 0, 1, torch.device("cpu")
        if trainer is not None:
            rank, world_size, device = trainer.global_rank, trainer.world_size, trainer.strategy.root_device
        sampler = EpochPermutation(len(inputs), shuffle, self.shuffle_seed, rank, world_size, pad=pad_shards)
        return InMemoryBatches(
            inputs.to(device), targets.to(device), batch_size, sampler, convert_inputs, batches_per_group
        )


def resolve_shuffle_seed(shuffle_seed: int | None) -> int:
    """The seed of every epoch's order; None draws one from torch's RNG (fixed by seed_everything)."""
    if shuffle_seed is not None:
        return int(shuffle_seed)
    return int(torch.randint(0, 2**31 - 1, (1,)).item())
