"""The LightningModule of a saved checkpoint, rebuilt from the config and checked against it."""

from omegaconf import DictConfig

from torch_lessons.assembly import build_module
from torch_lessons.checkpoints import check_same_task, check_weights_fit, load_checkpoint
from torch_lessons.modules.lesson import LessonModule


def load_trained_module(cfg: DictConfig) -> LessonModule:
    """The module ``cfg`` describes with the weights of ``cfg.ckpt_path``, in eval mode; a missing or
    unreadable file, another task's checkpoint or weights of another model are refused in one line."""
    checkpoint = load_checkpoint(cfg.ckpt_path)
    check_same_task(checkpoint, cfg.task.name, cfg.ckpt_path)
    module = build_module(cfg)
    check_weights_fit(module, checkpoint, cfg.ckpt_path)
    module.load_state_dict(checkpoint["state_dict"])
    return module.eval()
