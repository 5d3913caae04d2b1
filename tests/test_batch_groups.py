"""Training batches handed to Lightning in groups: the same updates, every step counted and hooked."""

import csv
from pathlib import Path

import lightning as L
import pytest
import torch

from conftest import assert_same_weights
from torch_lessons.errors import TrainingFault
from torch_lessons.modules.classification import ClassificationModule
from torch_lessons.modules.regression import RegressionModule
from torch_lessons.training import train

# fruit_yield: 5 rows, batch 2 → 3 shuffled batches (optimizer steps) per epoch; Adam keeps state.
RUN = ["task=fruit_yield", "optimizer=adam", "optimizer.lr=0.01", "logger=none", "test=false", "trainer.max_epochs=3"]


class CountHooks(L.Callback):
    """Counts the per-step hooks and the per-batch (per group) ones, and the global_step each step sees."""

    calls: dict[str, int] = {}
    steps_seen: list[int] = []

    def on_fit_start(self, trainer, module) -> None:
        CountHooks.calls = dict.fromkeys(
            ("on_before_backward", "on_after_backward", "on_before_optimizer_step", "on_train_batch_end"), 0
        )
        CountHooks.steps_seen = []

    def on_before_backward(self, trainer, module, loss) -> None:
        self.calls["on_before_backward"] += 1
        self.steps_seen.append(trainer.global_step)

    def on_after_backward(self, trainer, module) -> None:
        self.calls["on_after_backward"] += 1

    def on_before_optimizer_step(self, trainer, module, optimizer) -> None:
        self.calls["on_before_optimizer_step"] += 1

    def on_train_batch_end(self, *args) -> None:
        self.calls["on_train_batch_end"] += 1


def last_checkpoint(cfg) -> dict:
    return torch.load(Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt", weights_only=True)


def run(compose_config, overrides: list[str]) -> dict:
    cfg = compose_config("train", [*RUN, f"+callbacks.count._target_={__name__}.CountHooks", *overrides])
    train(cfg)
    return last_checkpoint(cfg)


@pytest.mark.parametrize("batches_per_group", [2, 32])
def test_groups_train_the_same_steps_as_single_batches(compose_config, batches_per_group: int) -> None:
    single = run(compose_config, ["data.batches_per_group=1"])
    assert CountHooks.calls["on_train_batch_end"] == 9
    grouped = run(compose_config, [f"data.batches_per_group={batches_per_group}"])
    assert_same_weights(grouped["state_dict"], single["state_dict"])
    assert grouped["global_step"] == single["global_step"] == 9, "global_step counts optimizer steps"
    assert CountHooks.steps_seen == list(range(9)), "each step's hooks see the steps before it"
    per_step = {name: count for name, count in CountHooks.calls.items() if name != "on_train_batch_end"}
    assert per_step == dict.fromkeys(per_step, 9), "the per-step hooks still run for every optimizer step"
    assert CountHooks.calls["on_train_batch_end"] == 3 * -(-3 // batches_per_group), "once per group"


def test_max_steps_stops_inside_a_group(compose_config) -> None:
    checkpoint = run(compose_config, ["trainer.max_steps=4", "trainer.max_epochs=-1"])
    assert checkpoint["global_step"] == 4 and CountHooks.calls["on_before_backward"] == 4


def test_loss_step_curve_and_epoch_metrics_sit_on_the_optimizer_step_axis(compose_config) -> None:
    cfg = compose_config(
        "train", [*RUN[:-2], "logger=csv", "test=false", "trainer.max_epochs=3", "trainer.log_every_n_steps=2"]
    )
    train(cfg)
    with (Path(cfg.paths.output_dir) / "csv" / "metrics.csv").open() as metrics_file:
        rows = list(csv.DictReader(metrics_file))
    assert [int(row["step"]) for row in rows if row["train/loss_step"]] == [1, 3, 5, 7]
    epoch_rows = [(float(row["epoch"]), int(row["step"])) for row in rows if row["train/loss"]]
    assert epoch_rows == [(0, 3), (1, 6), (2, 9)], "one group per epoch, yet the x value is the optimizer step"
    assert [int(row["step"]) for row in rows if row["train/lr"]] == [0, 3, 6], "at each epoch's first step"


class RecordSaves(L.Callback):
    """The global_step of each checkpoint written (after the other callbacks' on_save_checkpoint)."""

    steps: set[int] = set()

    def on_fit_start(self, trainer, module) -> None:
        RecordSaves.steps = set()

    def on_save_checkpoint(self, trainer, module, checkpoint) -> None:
        self.steps.add(checkpoint["global_step"])


def test_a_non_finite_loss_inside_a_group_saves_nothing_from_it(compose_config, tmp_path: Path) -> None:
    """fruit_yield at lr 1 overflows at step 5, the middle batch of epoch 1's group of 3. The losses are
    read once per group, yet the error names step 5, and a checkpoint due after every step inside the
    group is refused from that step on: the last one written holds the weights step 5 started from."""
    every_step = [
        "+callbacks.every_step._target_=lightning.pytorch.callbacks.ModelCheckpoint",
        f"+callbacks.every_step.dirpath={tmp_path}",
        "+callbacks.every_step.every_n_train_steps=1",
        "+callbacks.every_step.filename=every_step",
        f"+callbacks.saves._target_={__name__}.RecordSaves",
    ]
    cfg = compose_config("train", ["task=fruit_yield", "optimizer.lr=1", "logger=none", *every_step])
    with pytest.raises(TrainingFault, match=r"^loss became inf at step 5 \(epoch 1\)"):
        train(cfg)
    assert RecordSaves.steps == {1, 2, 3, 4, 5}
    last = torch.load(tmp_path / "every_step.ckpt", weights_only=True)
    assert last["global_step"] == 5 and all(torch.isfinite(value).all() for value in last["state_dict"].values())


class HalfLossModule(RegressionModule):
    """The README's extension point: the loss of one batch, here halved."""

    def model_step(self, batch):
        inputs, targets = batch
        outputs = self(inputs)
        return self.loss(outputs, targets) * 0.5, outputs


def test_a_subclass_writes_the_loss_of_one_batch(compose_config) -> None:
    """With SGD, half the loss is half the learning rate, exactly (a power of two): the subclass's
    model_step is what every batch of every group trains on."""
    sgd = ["task=fruit_yield", "optimizer=sgd", "logger=none", "test=false", "trainer.max_epochs=3"]
    halved = compose_config("train", [*sgd, f"module._target_={__name__}.HalfLossModule"])
    train(halved)
    half_rate = compose_config("train", [*sgd, "optimizer.lr=5e-6"])
    train(half_rate)
    assert_same_weights(last_checkpoint(halved)["state_dict"], last_checkpoint(half_rate)["state_dict"])


class HalfLossClassification(ClassificationModule):
    """The same extension point in a classification module."""

    def model_step(self, batch):
        loss, outputs = super().model_step(batch)
        return loss * 0.5, outputs


def test_validation_groups_go_through_the_subclass_model_step(compose_config) -> None:
    """Fashion-MNIST's validation batches come in groups: each goes through the subclass's model_step.
    Half the loss at twice the SGD rate trains the same weights, so val/loss is exactly half."""
    run = ["optimizer=sgd", "logger=none", "test=false", "trainer.max_epochs=1", "trainer.limit_train_batches=3"]
    base = train(compose_config("train", [*run, "optimizer.lr=0.01"]))
    halved = train(
        compose_config("train", [*run, "optimizer.lr=0.02", f"module._target_={__name__}.HalfLossClassification"])
    )
    assert halved["val/acc"] == base["val/acc"]
    assert halved["val/loss"] == 0.5 * base["val/loss"]
