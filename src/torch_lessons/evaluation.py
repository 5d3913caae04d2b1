"""Evaluation of a saved checkpoint: test metrics, then predictions printed the Quickstart's way."""

from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf

from torch_lessons.assembly import build_datamodule, build_module, build_trainer
from torch_lessons.checkpoints import check_same_task, check_weights_fit, load_checkpoint
from torch_lessons.config_checks import check_config
from torch_lessons.errors import ConfigError
from torch_lessons.modules.lesson import LessonModule
from torch_lessons.report import format_test_line, scalar_metrics
from torch_lessons.resume import checkpoint_file


def prediction_lines(module: LessonModule, datamodule, count: int) -> list[str]:
    """``Predicted: "Ankle boot", Actual: "Ankle boot"`` for the first ``count`` test examples."""
    lines: list[str] = []
    module.eval()
    with torch.inference_mode():
        for inputs, targets in datamodule.test_dataloader():
            predictions = module.predict(module(inputs.to(module.device))).cpu()
            for predicted, actual in zip(predictions, targets, strict=True):
                if len(lines) == count:
                    return lines
                lines.append(
                    f"Predicted: {datamodule.describe_target(predicted)}, Actual: {datamodule.describe_target(actual)}"
                )
    return lines


def evaluate(cfg: DictConfig) -> dict[str, float]:
    """Tests the checkpoint at ``cfg.ckpt_path`` and prints ``cfg.num_predictions`` predictions."""
    check_config(cfg)
    if OmegaConf.is_missing(cfg, "ckpt_path"):
        raise ConfigError(
            "ckpt_path is required: python eval.py ckpt_path=<run dir | .ckpt file | last> task=<its task>"
        )
    path = checkpoint_file(str(cfg.ckpt_path), Path(cfg.paths.log_dir), cfg.task.name)  # also a run dir, or last
    checkpoint = load_checkpoint(path)
    check_same_task(checkpoint, cfg.task.name, path)
    module = build_module(cfg)
    check_weights_fit(module, checkpoint, path)
    module.load_state_dict(checkpoint["state_dict"])

    datamodule = build_datamodule(cfg)
    trainer = build_trainer(cfg)
    (test_metrics,) = trainer.test(module, datamodule=datamodule, verbose=False)
    metrics = scalar_metrics(test_metrics)
    print(format_test_line(metrics))
    for line in prediction_lines(module, datamodule, cfg.num_predictions):
        print(line)
    return metrics
