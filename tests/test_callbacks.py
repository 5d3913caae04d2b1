"""conf/callbacks/: one file per callback, composed by a defaults list; early stopping says why it stopped."""

import csv
import logging
from pathlib import Path

import pytest
from lightning.pytorch.callbacks import ModelSummary

from conftest import CONFIG_DIR
from torch_lessons.assembly import build_trainer
from torch_lessons.config_choices import unknown_choice
from torch_lessons.training import train

EARLY_STOPPING = ["task=least_squares", "callbacks=[default,early_stopping]", "callbacks.early_stopping.patience=2"]


def project_callbacks(trainer) -> list[str]:
    return [type(callback).__name__ for callback in trainer.callbacks if type(callback).__module__.startswith("torch_")]


@pytest.mark.parametrize("task", ["fashion_mnist", "fruit_yield"])
def test_callbacks_none_leaves_none_of_the_projects(compose_config, task: str) -> None:
    """Before, each task file added the test figures, so they survived callbacks=none."""
    trainer = build_trainer(compose_config("train", [f"task={task}", "callbacks=none"]))
    assert project_callbacks(trainer) == []
    assert not any(isinstance(callback, ModelSummary) for callback in trainer.callbacks)


def test_default_callbacks_have_one_model_summary_and_the_figures(compose_config) -> None:
    trainer = build_trainer(compose_config("train", ["task=fruit_yield"]))
    assert [type(c).__name__ for c in trainer.callbacks if isinstance(c, ModelSummary)] == ["RichModelSummary"]
    assert "TestSplitFigures" in project_callbacks(trainer)


def test_a_list_of_callback_configs_is_checked_item_by_item() -> None:
    assert unknown_choice(CONFIG_DIR, ["callbacks=[default,early_stopping]"]) is None
    choices = ", ".join(sorted(path.stem for path in (CONFIG_DIR / "callbacks").glob("*.yaml")))
    message = f"callbacks=early_stoping is not a choice; choices: {choices}"
    assert unknown_choice(CONFIG_DIR, ["callbacks=[default,early_stoping]"]) == message
    assert unknown_choice(CONFIG_DIR, ["callbacks=[default],[default,early_stoping]"]) == message  # a sweep of lists


def test_early_stopping_says_why_when_and_the_best_value(compose_config, caplog) -> None:
    """least_squares with lr 0.02: val/loss falls for 3 epochs, then rises; patience 2 stops after epoch 5."""
    cfg = compose_config("train", [*EARLY_STOPPING, "optimizer.lr=0.02", "trainer.max_epochs=40", "logger=csv"])
    with caplog.at_level(logging.INFO, logger="torch_lessons"):
        metrics = train(cfg)
    run_dir = Path(cfg.paths.output_dir)
    with (run_dir / "csv" / "metrics.csv").open() as file:
        val_losses = [float(row["val/loss"]) for row in csv.DictReader(file) if row.get("val/loss")]
    best = min(range(len(val_losses)), key=val_losses.__getitem__)
    assert len(val_losses) == 5 and best == 2, val_losses  # improved until epoch 3, then 2 epochs without
    lines = [record.getMessage() for record in caplog.records if record.getMessage().startswith("early stopping")]
    assert lines == [
        f"early stopping: val/loss did not improve for 2 epochs; stopped after epoch 5, "
        f"best {val_losses[best]:.4g} at epoch 3"
    ]
    assert metrics["epochs"] == 5  # result.json and the sweep summary record it
    assert (run_dir / "checkpoints" / "epoch_002.ckpt").exists()  # the best epoch is the one tested


def test_early_stopping_counts_epochs_not_validations(compose_config, caplog) -> None:
    """Validating every 2nd epoch, patience 2 means 4 epochs without improvement, and the line says both."""
    overrides = ["optimizer.lr=0.02", "trainer.max_epochs=40", "trainer.check_val_every_n_epoch=2", "logger=none"]
    cfg = compose_config("train", [*EARLY_STOPPING, *overrides, "test=false"])
    with caplog.at_level(logging.INFO, logger="torch_lessons"):
        metrics = train(cfg)
    (line,) = [record.getMessage() for record in caplog.records if record.getMessage().startswith("early stopping")]
    assert line.startswith("early stopping: val/loss did not improve for 4 epochs (2 validations); stopped after epoch")
    assert f"stopped after epoch {int(metrics['epochs'])}," in line
