"""Checkpoints load under torch's default weights_only=True, and eval refuses ones that do not fit."""

from pathlib import Path

import pytest
import torch

from torch_lessons.evaluation import evaluate
from torch_lessons.training import train


@pytest.fixture
def trained_checkpoint(compose_config):
    """Trains a task for one short epoch and returns the path of its last.ckpt."""

    def train_task(task: str, *overrides: str) -> Path:
        cfg = compose_config("train", [f"task={task}", "trainer.max_epochs=1", "debug=limit", *overrides])
        train(cfg)
        return Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt"

    return train_task


@pytest.mark.parametrize("task", ["fashion_mnist", "least_squares", "fruit_yield"])
def test_last_checkpoint_loads_with_weights_only(trained_checkpoint, task: str) -> None:
    checkpoint = torch.load(trained_checkpoint(task), weights_only=True)
    assert checkpoint["lesson_run"]["choices"]["task"] == task
    assert checkpoint["epoch"] == 0 and checkpoint["state_dict"]


def test_best_checkpoint_is_tested_and_kept(compose_config) -> None:
    cfg = compose_config("train", ["task=least_squares", "trainer.max_epochs=3"])
    train(cfg)
    names = sorted(path.name for path in (Path(cfg.paths.output_dir) / "checkpoints").iterdir())
    assert "last.ckpt" in names and any(name.startswith("epoch_") for name in names)


def test_eval_prints_predictions(compose_config, trained_checkpoint, capsys) -> None:
    checkpoint = trained_checkpoint("fashion_mnist")
    capsys.readouterr()
    metrics = evaluate(compose_config("eval", [f"ckpt_path={checkpoint}", "num_predictions=3"]))
    lines = capsys.readouterr().out.splitlines()
    assert 0.0 <= metrics["test/acc"] <= 1.0
    assert lines[-3].startswith('Predicted: "') and lines[-3].endswith('Actual: "Ankle boot"')
    assert lines[-2].endswith('Actual: "Pullover"') and lines[-1].endswith('Actual: "Trouser"')


def test_eval_regression_names_the_outputs(compose_config, trained_checkpoint, capsys) -> None:
    checkpoint = trained_checkpoint("fruit_yield")
    capsys.readouterr()
    evaluate(compose_config("eval", ["task=fruit_yield", f"ckpt_path={checkpoint}", "num_predictions=2"]))
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2].startswith("Predicted: apples=") and lines[-2].endswith("Actual: apples=56.00, oranges=70.00")


def test_eval_refuses_another_tasks_checkpoint(compose_config, trained_checkpoint) -> None:
    checkpoint = trained_checkpoint("least_squares", "model=linear")
    with pytest.raises(
        ValueError,
        match="was trained with task=least_squares, not task=fruit_yield; use it with task=least_squares model=linear",
    ):
        evaluate(compose_config("eval", ["task=fruit_yield", f"ckpt_path={checkpoint}"]))


def test_eval_refuses_weights_of_another_model(compose_config, trained_checkpoint) -> None:
    checkpoint = trained_checkpoint("least_squares", "model=linear")
    with pytest.raises(
        ValueError,
        match=r"its weights do not fit the configured model \(net.a is not in the checkpoint\); "
        r"it was trained with model=linear$",
    ):
        evaluate(compose_config("eval", ["task=least_squares", "model=scalar", f"ckpt_path={checkpoint}"]))


def test_eval_missing_and_corrupt_checkpoints(compose_config, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="ckpt_path=.*nothing.ckpt: no such file"):
        evaluate(compose_config("eval", [f"ckpt_path={tmp_path / 'nothing.ckpt'}"]))
    corrupt = tmp_path / "corrupt.ckpt"
    corrupt.write_bytes(b"not a checkpoint at all")
    with pytest.raises(ValueError, match="ckpt_path=.*corrupt.ckpt: not a checkpoint torch can load safely"):
        evaluate(compose_config("eval", [f"ckpt_path={corrupt}"]))
