"""Resuming gives bit-identical weights to the uninterrupted run, at an epoch end or mid-epoch.

The in-memory loader draws each epoch's order from ``shuffle_seed + epoch`` and saves how many
batches of the current epoch are done, so a resumed run sees exactly the batches it would have.
"""

import os
import signal
from pathlib import Path

import lightning as L
import pytest
import torch

from conftest import assert_same_weights, train_until_interrupted
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


class SignalInsideGroup(L.Callback):
    """Sends ``signal_name`` to this process during the backward of optimizer step ``global_step``,
    i.e. inside a group of batches, as ``kill`` or Ctrl+C would."""

    def __init__(self, global_step: int, signal_name: str) -> None:
        self.global_step = global_step
        self.signal = getattr(signal, signal_name)

    def on_before_backward(self, trainer: L.Trainer, module: L.LightningModule, loss: torch.Tensor) -> None:
        if trainer.global_step == self.global_step:
            os.kill(os.getpid(), self.signal)


@pytest.mark.parametrize("signal_name", ["SIGINT", "SIGTERM"])
def test_resume_after_a_signal_inside_a_group(compose_config, straight_run, signal_name: str) -> None:
    """Step 4 is the second batch of epoch 2's one group of 3: Ctrl+C stops right there (that batch
    untrained), SIGTERM right after that batch's optimizer step (the interrupt callback is a checkpoint
    callback, asked after each step inside a group); either way the resumed run ends on the same weights."""
    killed = compose_config(
        "train",
        [
            *RUN,
            "trainer.max_epochs=3",
            "+callbacks.kill._target_=test_resume_exact.SignalInsideGroup",
            "+callbacks.kill.global_step=4",
            f"+callbacks.kill.signal_name={signal_name}",
        ],
    )
    train_until_interrupted(killed)
    checkpoint = Path(killed.paths.output_dir) / "checkpoints" / "last.ckpt"
    saved = torch.load(checkpoint, weights_only=True)
    trained = {"SIGINT": 4, "SIGTERM": 5}[signal_name]
    assert saved["global_step"] == trained
    assert saved["loops"]["fit_loop"]["state_dict"]["combined_loader"] == [{"epoch": 1, "batches_done": trained - 3}]
    resumed = compose_config("train", [*RUN, "trainer.max_epochs=3", f"ckpt_path={checkpoint}"])
    train(resumed)
    assert_same_weights(final_weights(resumed), straight_run)


class SignalWhileValidating(L.Callback):
    """Sends SIGINT to this process when epoch ``epoch``'s validation starts, as Ctrl+C would."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_validation_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if not trainer.sanity_checking and trainer.current_epoch == self.epoch:
            os.kill(os.getpid(), signal.SIGINT)


@pytest.mark.parametrize("batches_per_group", [1, 64])
def test_resume_after_ctrl_c_while_validating(compose_config, batches_per_group: int) -> None:
    """Epoch 2 trained (2 of its 3 batches: limit_train_batches=2), then Ctrl+C while it validates: the
    resumed run trains epoch 3 on epoch 3's first batches, not on the rest of epoch 2's order."""
    run = [*RUN, "trainer.max_epochs=3", "trainer.limit_train_batches=2", f"data.batches_per_group={batches_per_group}"]
    straight = compose_config("train", run)
    train(straight)
    killed = compose_config(
        "train", [*run, "+callbacks.kill._target_=test_resume_exact.SignalWhileValidating", "+callbacks.kill.epoch=1"]
    )
    train_until_interrupted(killed)
    checkpoint = Path(killed.paths.output_dir) / "checkpoints" / "last.ckpt"
    assert torch.load(checkpoint, weights_only=True)["global_step"] == 4, "stopped after epoch 2's training"
    resumed = compose_config("train", [*run, f"ckpt_path={checkpoint}"])
    train(resumed)
    assert_same_weights(final_weights(resumed), final_weights(straight))


def step_checkpoints(directory: Path) -> dict[int, Path]:
    """The checkpoints in ``directory`` by their global_step."""
    return {torch.load(path, weights_only=True)["global_step"]: path for path in directory.glob("*.ckpt")}


def test_max_steps_and_step_checkpoints_inside_a_group(compose_config, straight_run, tmp_path: Path) -> None:
    """ModelCheckpoint(every_n_train_steps=2) saves at steps 2 and 4, both inside a group of 3 batches;
    the fit stops at max_steps=4, and resuming from the step-4 checkpoint ends on the straight run's weights."""
    step_checkpoint = [
        "+callbacks.every_2._target_=lightning.pytorch.callbacks.ModelCheckpoint",
        f"+callbacks.every_2.dirpath={tmp_path}",
        "+callbacks.every_2.every_n_train_steps=2",
        "+callbacks.every_2.save_top_k=-1",
        "+callbacks.every_2.filename='e{epoch}s{step}'",  # distinct names, no "=" in them
        "+callbacks.every_2.auto_insert_metric_name=false",
    ]
    first_part = compose_config("train", [*RUN, "trainer.max_epochs=3", "trainer.max_steps=4", *step_checkpoint])
    train(first_part)
    saved = step_checkpoints(tmp_path)
    assert sorted(saved) == [2, 4]
    state = torch.load(saved[4], weights_only=True)
    assert state["loops"]["fit_loop"]["state_dict"]["combined_loader"] == [{"epoch": 1, "batches_done": 1}]
    resumed = compose_config("train", [*RUN, "trainer.max_epochs=3", f"ckpt_path={saved[4]}"])
    train(resumed)
    assert_same_weights(final_weights(resumed), straight_run)
