"""Checks that need the whole composed config, run once before anything is built."""

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from torch_lessons.errors import ConfigError


def check_loss_fits_task(cfg: DictConfig) -> None:
    """Refuses e.g. ``task=fruit_yield loss=cross_entropy``, naming the losses that fit."""
    loss_choice = HydraConfig.get().runtime.choices.get("loss")
    fitting = list(cfg.task.losses)
    if loss_choice not in fitting:
        raise ConfigError(
            f"loss={loss_choice} does not fit task={cfg.task.name}; losses that fit: {', '.join(fitting)}"
        )


def check_config(cfg: DictConfig) -> None:
    check_loss_fits_task(cfg)
