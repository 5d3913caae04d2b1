"""The LightningModule of a saved checkpoint, rebuilt from the config and checked against it."""

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from torch_lessons.assembly import build_module
from torch_lessons.checkpoints.loading import check_same_task, check_weights_fit, load_checkpoint
from torch_lessons.checkpoints.resume import checkpoint_file
from torch_lessons.errors import ConfigError
from torch_lessons.modules.lesson import LessonModule


def check_checkpoint_named(cfg: DictConfig) -> None:
    if OmegaConf.is_missing(cfg, "ckpt_path"):
        raise ConfigError("ckpt_path is required: a run dir, a .ckpt file or last (the newest run of the task)")


def load_trained_module(cfg: DictConfig) -> LessonModule:
    """The module ``cfg`` describes with the weights of ``cfg.ckpt_path`` (a .ckpt file, a run dir or
    ``last``), in eval mode; a missing or unreadable file, another task's checkpoint or weights of
    another model are refused in one line."""
    check_checkpoint_named(cfg)
    path = checkpoint_file(str(cfg.ckpt_path), Path(cfg.paths.log_dir), cfg.task.name)
    checkpoint = load_checkpoint(path)
    check_same_task(checkpoint, cfg.task.name, path)
    module = build_module(cfg)
    check_weights_fit(module, checkpoint, path)
    module.load_state_dict(checkpoint["state_dict"])
    return module.eval()
