"""Counts in batches and optimizer steps whatever data.batches_per_group: the progress bars, the
debug presets, limit_train_batches, limit_val_batches, the sanity check, val_check_interval (the
bundled sample: 51 training batches; 6 validation batches, the last of 42 images)."""

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
    rates: list[str] = []
    val_bars: list[tuple[float, float]] = []
    sanity_bars: list[tuple[float, float]] = []
    validated_at: list[int] = []
    global_step = 0

    def on_fit_start(self, trainer, module) -> None:
        RecordCounts.bars, RecordCounts.validated_at, RecordCounts.rates = [], [], []
        RecordCounts.val_bars, RecordCounts.sanity_bars = [], []

    def on_train_epoch_end(self, trainer, module) -> None:
        self.bars.append(bar_position(trainer, "train_progress_bar_id"))
        bar = trainer.progress_bar_callback
        task = next(task for task in bar.progress.tasks if task.id == bar.train_progress_bar_id)
        rendered = [str(column.render(task)) for column in bar.progress.columns if hasattr(column, "render")]
        self.rates.extend(text for text in rendered if text.endswith("it/s"))

    def on_validation_end(self, trainer, module) -> None:
        if trainer.sanity_checking:
            self.sanity_bars.append(bar_position(trainer, "val_sanity_progress_bar_id"))
        else:
            self.validated_at.append(trainer.global_step)
            self.val_bars.append(bar_position(trainer, "val_progress_bar_id"))

    def on_train_end(self, trainer, module) -> None:
        RecordCounts.global_step = trainer.global_step


def bar_position(trainer: L.Trainer, bar_id: str) -> tuple[float, float]:
    """Where one of the progress bar's bars stands: (batches done, total)."""
    bar = trainer.progress_bar_callback
    assert isinstance(bar, BatchProgressBar)
    task: Task = next(task for task in bar.progress.tasks if task.id == getattr(bar, bar_id))
    return task.completed, task.total


def run(compose_config, overrides: list[str]) -> dict[str, float]:
    return train(compose_config("train", [*QUICK, f"+callbacks.counts._target_={__name__}.RecordCounts", *overrides]))


def test_the_progress_bar_counts_batches(compose_config) -> None:
    run(compose_config, ["trainer.max_epochs=1"])
    assert RecordCounts.bars == [(51, 51)] and RecordCounts.global_step == 51
    (rate,) = RecordCounts.rates  # the epoch is one group of 51 batches: one update of the bar
    assert rate.endswith("it/s") and float(rate.removesuffix("it/s")) > 0, rate


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
        (["trainer.limit_train_batches=0.1", "trainer.max_epochs=1", "data.batches_per_group=1"], 5, [(5, 5)]),
    ],
)
def test_limits_count_batches_and_steps(compose_config, overrides: list[str], steps: int, bars) -> None:
    run(compose_config, overrides)
    assert RecordCounts.global_step == steps
    assert RecordCounts.bars == bars


@pytest.mark.parametrize(
    ("overrides", "val_bar", "sanity_bar"),
    [
        ([], (6, 6), (2, 2)),  # all 6 validation batches; Lightning's default sanity check of 2 batches
        (["trainer.limit_val_batches=0.5", "+trainer.num_sanity_val_steps=4"], (3, 3), (3, 3)),  # int(6 × 0.5)
        (["trainer.limit_val_batches=4", "+trainer.num_sanity_val_steps=-1"], (4, 4), (4, 4)),
    ],
)
def test_validation_in_groups_counts_batches_and_equals_one_batch_at_a_time(
    compose_config, overrides: list[str], val_bar, sanity_bar
) -> None:
    """Validation batches reach Lightning in groups too: the bars, the limits and the sanity check count
    batches, and the epoch's val/loss (weighted by each batch's images) and val/acc are those of one
    batch at a time."""
    results = {}
    for group in (1, 64):
        settings = ["trainer.max_epochs=1", "trainer.limit_val_batches=1.0", f"data.batches_per_group={group}"]
        results[group] = run(compose_config, [*settings, *overrides])
        assert RecordCounts.val_bars == [val_bar], f"batches_per_group={group}"
        assert RecordCounts.sanity_bars == [sanity_bar], f"batches_per_group={group}"
    assert results[64]["val/acc"] == results[1]["val/acc"]
    assert results[64]["val/loss"] == pytest.approx(results[1]["val/loss"], rel=1e-6)


@pytest.mark.parametrize("batches_per_group", [1, 64])
def test_val_check_interval_counts_batches(compose_config, batches_per_group: int) -> None:
    """Every 20 batches of 41 (groups shrink to 20), as Lightning does with one batch per step."""
    overrides = [f"data.batches_per_group={batches_per_group}", "trainer.val_check_interval=20"]
    run(compose_config, [*overrides, "trainer.max_epochs=1", "trainer.limit_train_batches=41"])
    assert RecordCounts.validated_at == [20, 40]
