"""Evaluation of a saved checkpoint: test metrics, then predictions printed the Quickstart's way."""

import lightning as L
from omegaconf import DictConfig, OmegaConf

from torch_lessons.assembly import build_datamodule, build_trainer
from torch_lessons.checkpoints.trained_module import load_trained_module
from torch_lessons.config_checks import check_config
from torch_lessons.datamodules.contract import TaskData
from torch_lessons.errors import ConfigError
from torch_lessons.modules.contract import PredictStepOutput
from torch_lessons.modules.lesson import LessonModule
from torch_lessons.runs.report import format_test_line, scalar_metrics


def prediction_lines(trainer: L.Trainer, module: LessonModule, datamodule: TaskData, count: int) -> list[str]:
    """``Predicted: "Ankle boot", Actual: "Ankle boot"`` for the first ``count`` test examples, through
    ``trainer.predict`` and the datamodule's predict dataloader (the test split)."""
    lines: list[str] = []
    if count <= 0:
        return lines
    batches: list[PredictStepOutput] = trainer.predict(module, datamodule=datamodule)
    for batch in batches:
        for predicted, actual in zip(batch["predictions"], batch["targets"], strict=True):
            lines.append(
                f"Predicted: {datamodule.describe_target(predicted)}, Actual: {datamodule.describe_target(actual)}"
            )
            if len(lines) == count:
                return lines
    return lines


def check_before_evaluation(cfg: DictConfig) -> None:
    check_config(cfg)
    if OmegaConf.is_missing(cfg, "ckpt_path"):
        raise ConfigError(
            "ckpt_path is required: python eval.py ckpt_path=<run dir | .ckpt file | last> task=<its task>"
        )


def evaluate(cfg: DictConfig) -> dict[str, float]:
    """Tests the checkpoint at ``cfg.ckpt_path`` and prints ``cfg.num_predictions`` predictions."""
    check_before_evaluation(cfg)
    module = load_trained_module(cfg)
    datamodule = build_datamodule(cfg)
    trainer = build_trainer(cfg)
    (test_metrics,) = trainer.test(module, datamodule=datamodule, verbose=False)
    metrics = scalar_metrics(test_metrics)
    print(format_test_line(metrics))
    for line in prediction_lines(trainer, module, datamodule, cfg.num_predictions):
        print(line)
    return metrics
