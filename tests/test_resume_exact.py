"""Resuming gives bit-identical weights to the uninterrupted run, at an epoch end or mid-epoch.

The in-memory loader draws each epoch's order from ``shuffle_seed + epoch`` and saves how many
batches of the current epoch are done, so a resumed run sees exactly the batches it would have.
"""

from pathlib import Path

import lightning as L
import pytest
import torch

from conftest import assert_same_weights
from torch_lessons.training import train

# fruit_yield: 5 rows, batch 2 → 3 shuffled batches per epoch; Adam so optimizer state matters too.
RUN = ["task=fruit_yield", "optimizer=adam", "optimizer.lr=0.01", "logger=none", "test=false"]


class SaveAndStopAt(L.Callback):
    """Saves a checkpoint after ``global_step`` optimizer steps and stops, as a kill would."""

    def __init__(self, global_step: int, path: str) -> None:
        self.global_step = global_step
        self.path = path

    def on_train_batch_end(self, trainer: L.Trainer, *args) -> None:
        if trainer.global_step == self.global_step:
            trainer.save_checkpoint(self.path)
            trainer.should_stop = True


def final_weights(cfg) -> dict[str, torch.Tensor]:
    return torch.load(Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]


@pytest.fixture
def straight_run(compose_config) -> dict[str, torch.Tensor]:
    cfg = compose_config("train", [*RUN, "trainer.max_epochs=3"])
    train(cfg)
    return final_weights(cfg)


def test_resume_at_an_epoch_end(compose_config, straight_run) -> None:
    first_part = compose_config("train", [*RUN, "trainer.max_epochs=1"])
    train(first_part)
    checkpoint = Path(first_part.paths.output_dir) / "checkpoints" / "last.ckpt"
    resumed = compose_config("train", [*RUN, "trainer.max_epochs=3", f"ckpt_path={checkpoint}"])
    train(resumed)
    assert_same_weights(final_weights(resumed), straight_run)


@pytest.mark.parametrize(
    ("global_step", "batches_per_group"),
    [
        (4, 1),  # mid-epoch 2 (batch 1 of 3), one batch per training_step call
        (6, 1),  # the end of epoch 2, its last call
        (5, 2),  # mid-epoch 2 after a group of 2 batches
        (6, 64),  # the end of epoch 2, one call for all its batches (the default grouping)
    ],
)
def test_resume_after_a_kill_mid_epoch(
    compose_config, straight_run, tmp_path: Path, global_step: int, batches_per_group: int
) -> None:
    """The straight run uses the default grouping: the batches and updates do not depend on it."""
    checkpoint = tmp_path / "killed.ckpt"
    killed = compose_config(
        "train",
        [
            *RUN,
            "trainer.max_epochs=3",
            f"data.batches_per_group={batches_per_group}",
            "+callbacks.kill._target_=test_resume_exact.SaveAndStopAt",
            f"+callbacks.kill.global_step={global_step}",
            f"+callbacks.kill.path={checkpoint}",
        ],
    )
    train(killed)
    assert not torch.equal(final_weights(killed)["net.weight"], straight_run["net.weight"]), "the kill cut it short"
    resumed = compose_config("train", [*RUN, "trainer.max_epochs=3", f"ckpt_path={checkpoint}"])
    train(resumed)
    assert_same_weights(final_weights(resumed), straight_run)
