"""Builds the run's objects from the composed config; shared by training and evaluation."""

from typing import Any

import lightning as L
from hydra.utils import instantiate
from omegaconf import DictConfig

from torch_lessons.modules.lesson import LessonModule


def build_datamodule(cfg: DictConfig) -> L.LightningDataModule:
    """The task's data, given plain lists and dicts (not OmegaConf containers) so that the
    hyper-parameters it saves into checkpoints stay loadable with ``weights_only=True``."""
    return instantiate(cfg.data, _convert_="all")


def build_module(cfg: DictConfig) -> LessonModule:
    """The task's LightningModule with its net, loss and (partial) optimizer injected."""
    return instantiate(
        cfg.module,
        net=instantiate(cfg.model),
        loss=instantiate(cfg.loss),
        optimizer=instantiate(cfg.optimizer),
    )


def build_group(group: DictConfig | None) -> list[Any]:
    """Instantiates each entry of a callbacks/logger group; an entry set to null is left out."""
    if not group:
        return []
    return [instantiate(entry) for entry in group.values() if entry is not None]


def build_trainer(cfg: DictConfig, extra_callbacks: list[L.Callback] = ()) -> L.Trainer:
    loggers = build_group(cfg.get("logger"))
    callbacks = build_group(cfg.get("callbacks")) + list(extra_callbacks)
    return instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False)
