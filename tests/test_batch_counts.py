"""Counts in batches and optimizer steps whatever data.batches_per_group: the progress bar, the
debug presets, limit_train_batches, val_check_interval (the bundled sample: 51 training batches)."""

import lightning as L
import pytest
from rich.progress import Task

from torch_lessons.callbacks.progress import BatchProgressBar
from torch_lessons.training import train

QUICK = ["logger=none", "test=false", "trainer.limit_val_batches=1"]


class RecordCounts(L.Callback):
    """The training bar's total and position at each epoch end, the optimizer steps, and the steps
    at which validation ran."""

    bars: list[tuple[float, float]] = []
    validated_at: list[int] = []
    global_step = 0

    def on_fit_start(self, trainer, module) -> None:
        RecordCounts.bars, RecordCounts.validated_at = [], []

    def on_train_epoch_end(self, trainer, module) -> None:
        bar = trainer.progress_bar_callback
        assert isinstance(bar, BatchProgressBar)
        task: Task = next(task for task in bar.progress.tasks if task.id == bar.train_progress_bar_id)
        self.bars.append((task.completed, task.total))

    def on_validation_end(self, trainer, module) -> None:
        if not trainer.sanity_checking:
            self.validated_at.append(trainer.global_step)

    def on_train_end(self, trainer, module) -> None:
        RecordCounts.global_step = trainer.global_step


def run(compose_config, overrides: list[str]) -> None:
    train(compose_config("train", [*QUICK, f"+callbacks.counts._target_={__name__}.RecordCounts", *overrides]))


def test_the_progress_bar_counts_batches(compose_config) -> None:
    run(compose_config, ["trainer.max_epochs=1"])
    assert RecordCounts.bars == [(51, 51)] and RecordCounts.global_step == 51


@pytest.mark.parametrize(
    ("overrides", "steps", "bars"),
    [
        (["debug=overfit", "trainer.max_epochs=3"], 3, [(1, 1)] * 3),
        (["debug=limit"], 10, [(5, 5)] * 2),
        (["trainer.limit_train_batches=7", "trainer.max_epochs=1"], 7, [(7, 7)]),
        (
            ["trainer.limit_train_batches=0.1", "trainer.max_epochs=1"],
            5,
            [(5, 5)],
        ),  # int(51 × 0.1) batches, as Lightning counts
    ],
)
def test_limits_count_batches_and_steps(compose_config, overrides: list[str], steps: int, bars) -> None:
    run(compose_config, overrides)
    assert RecordCounts.global_step == steps
    assert RecordCounts.bars == bars


@pytest.mark.parametrize("batches_per_group", [1, 64])
def test_val_check_interval_counts_batches(compose_config, batches_per_group: int) -> None:
    """Every 20 batches of 41 (groups shrink to 20), as Lightning does with one batch per step."""
    overrides = [f"data.batches_per_group={batches_per_group}", "trainer.val_check_interval=20"]
    run(compose_config, [*overrides, "trainer.max_epochs=1", "trainer.limit_train_batches=41"])
    assert RecordCounts.validated_at == [20, 40]
