"""The in-memory loader: seeded per-epoch order, DistributedSampler-like shards, resumable position."""

import torch

from torch_lessons.datamodules.in_memory import BatchGroup, EpochPermutation, InMemoryBatches

ROWS = torch.arange(10)


def batches(
    shuffle: bool = True, seed: int = 0, rank: int = 0, world_size: int = 1, batch_size: int = 3, per_group: int = 1
):
    sampler = EpochPermutation(len(ROWS), shuffle, seed, rank, world_size)
    return InMemoryBatches(ROWS.clone(), ROWS * 10, batch_size, sampler, batches_per_group=per_group)


def epoch_rows(loader: InMemoryBatches, epoch: int) -> list[int]:
    loader.sampler.set_epoch(epoch)
    return [row for inputs, _ in loader for row in inputs.tolist()]


def test_each_epoch_is_a_seeded_permutation() -> None:
    loader = batches()
    first, second = epoch_rows(loader, 0), epoch_rows(loader, 1)
    assert sorted(first) == sorted(second) == list(range(10))
    assert first != second, "epochs differ"
    assert epoch_rows(batches(), 1) == second, "the same seed and epoch give the same order"
    assert epoch_rows(batches(seed=1), 1) != second
    assert epoch_rows(batches(shuffle=False), 3) == list(range(10))


def test_targets_follow_their_inputs() -> None:
    for inputs, targets in batches():
        assert torch.equal(targets, inputs * 10)
    assert [len(targets) for _, targets in batches()] == [3, 3, 3, 1]


def test_ranks_get_disjoint_equal_shards_like_distributed_sampler() -> None:
    shards = [epoch_rows(batches(rank=rank, world_size=3), 2) for rank in range(3)]
    assert [len(shard) for shard in shards] == [4, 4, 4], "10 rows padded to 12 by wrapping around"
    assert set().union(*map(set, shards)) == set(range(10))
    assert sum(len(shard) for shard in shards) - len(set().union(*map(set, shards))) == 2


def test_validation_shards_hold_each_row_once() -> None:
    """Validation and test (``pad=False``): uneven shards, every row in exactly one, none repeated."""
    shards = []
    for rank in range(3):
        sampler = EpochPermutation(len(ROWS), False, 0, rank, 3, pad=False)
        loader = InMemoryBatches(ROWS.clone(), ROWS * 10, 3, sampler)
        shards.append([row for inputs, _ in loader for row in inputs.tolist()])
        assert len(loader) == len(range(0, len(sampler), 3))
    assert shards == [[0, 3, 6, 9], [1, 4, 7], [2, 5, 8]]


def test_resume_mid_epoch_continues_with_the_next_batch() -> None:
    loader = batches()
    loader.sampler.set_epoch(4)
    straight = [inputs.tolist() for inputs, _ in loader]
    iterator = iter(loader)
    next(iterator), next(iterator)
    state = loader.state_dict()
    assert state == {"epoch": 4, "batches_done": 2}

    resumed = batches()  # a new process: sampler at epoch 0 until the saved state says otherwise
    resumed.load_state_dict(state)
    assert [inputs.tolist() for inputs, _ in resumed] == straight[2:]


def test_resume_after_a_finished_epoch_starts_the_next_one() -> None:
    loader = batches()
    resumed = batches()
    resumed.load_state_dict({"epoch": 4, "batches_done": len(loader)})
    loader.sampler.set_epoch(5)
    assert [inputs.tolist() for inputs, _ in resumed] == [inputs.tolist() for inputs, _ in loader]


def test_groups_hold_the_same_batches_in_the_same_order() -> None:
    single, grouped = batches(), batches(per_group=3)
    single.sampler.set_epoch(2), grouped.sampler.set_epoch(2)
    groups = list(grouped)
    assert all(isinstance(group, BatchGroup) for group in groups) and [len(group) for group in groups] == [3, 1]
    assert len(grouped) == 2 and grouped.num_batches == len(single) == 4
    flattened = [(inputs.tolist(), targets.tolist()) for group in groups for inputs, targets in group]
    assert flattened == [(inputs.tolist(), targets.tolist()) for inputs, targets in single]


def test_resume_state_counts_batches_whatever_the_grouping() -> None:
    loader = batches(per_group=2)
    loader.sampler.set_epoch(4)
    straight = [inputs.tolist() for group in loader for inputs, _ in group]
    iterator = iter(loader)
    next(iterator)
    state = loader.state_dict()
    assert state == {"epoch": 4, "batches_done": 2}
    resumed = batches(per_group=3)  # a resumed run may group differently: it still continues at batch 3
    resumed.load_state_dict(state)
    assert [inputs.tolist() for group in resumed for inputs, _ in group] == straight[2:]
