"""Builds the run's objects from the composed config; shared by training and evaluation."""

from typing import Any

import lightning as L
import torch
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from lightning.fabric.utilities.exceptions import MisconfigurationException
from omegaconf import DictConfig, OmegaConf

from torch_lessons.contract_checks import check_contract
from torch_lessons.errors import ConfigError
from torch_lessons.library_warnings import silence_warnings_that_do_not_apply
from torch_lessons.modules.contract import TaskModule
from torch_lessons.modules.lesson import LessonModule
from torch_lessons.modules.optimization import GradientSettings


def build_datamodule(cfg: DictConfig, **arguments: Any) -> L.LightningDataModule:
    """The task's data, given plain lists and dicts (not OmegaConf containers) so that the
    hyper-parameters it saves into checkpoints stay loadable with ``weights_only=True``;
    ``arguments`` are added to the config's (predict.py's ``predict_inputs``)."""
    return instantiate(cfg.data, _convert_="all", **arguments)


FINE_TUNING_KEYS = ("init_from", "freeze")


def build_module(cfg: DictConfig) -> LessonModule:
    """The task's LightningModule with its net, loss and (partial) optimizer injected.

    ``model.init_from`` and ``model.freeze`` belong to fine-tuning (see training.py), not to the
    net's constructor, so they are left out when the net is built. ``compile: true`` (or a dict of
    ``torch.compile`` options) compiles the net. A module that lacks what ``TaskModule`` promises is refused.
    """
    net_config = OmegaConf.to_container(cfg.model, resolve=True)
    for key in FINE_TUNING_KEYS:
        net_config.pop(key, None)
    net = instantiate(net_config)
    compile_options = cfg.get("compile")
    if compile_options:
        # In place, so parameter names (and checkpoints) stay those of the plain net.
        net.compile(**(compile_options if isinstance(compile_options, DictConfig) else {}))
    # Built as a partial and then called: Hydra would turn the dataclass settings into DictConfigs.
    module_factory = instantiate(cfg.module, _partial_=True)
    module = module_factory(
        net=net,
        loss=instantiate(cfg.loss),
        optimizer=instantiate(cfg.optimizer),
        scheduler=instantiate(cfg.scheduler) if cfg.get("scheduler") else None,
        gradients=gradient_settings(cfg),
    )
    check_contract(module, TaskModule, "module._target_")
    return module


# Trainer settings the lesson modules apply in their own optimizer steps: Lightning refuses them under
# manual optimization, so they go to the module and are kept out of the Trainer.
GRADIENT_KEYS = ("gradient_clip_val", "gradient_clip_algorithm", "accumulate_grad_batches")


def gradient_settings(cfg: DictConfig) -> GradientSettings:
    given = {key: cfg.trainer.get(key) for key in GRADIENT_KEYS if cfg.trainer.get(key) is not None}
    return GradientSettings(**given)


def build_group(group: DictConfig | None) -> list[Any]:
    """Instantiates each entry of a callbacks/logger group; an entry set to null is left out."""
    if not group:
        return []
    return [instantiate(entry) for entry in group.values() if entry is not None]


def build_trainer(cfg: DictConfig, extra_callbacks: list[L.Callback] = ()) -> L.Trainer:
    """The Trainer with the configured loggers and callbacks; an accelerator, device count or
    strategy this machine cannot provide is reported as one line naming those keys."""
    silence_warnings_that_do_not_apply()
    loggers = build_group(cfg.get("logger"))
    callbacks = build_group(cfg.get("callbacks")) + list(extra_callbacks)
    trainer_config = {key: value for key, value in cfg.trainer.items() if key not in GRADIENT_KEYS}
    try:
        return instantiate(trainer_config, callbacks=callbacks, logger=loggers or False)
    except InstantiationException as error:
        if not isinstance(error.__cause__, MisconfigurationException):
            raise
        settings = ", ".join(f"trainer.{key}={cfg.trainer.get(key)}" for key in ("accelerator", "devices", "strategy"))
        raise ConfigError(
            f"{settings}: {error.__cause__}; accelerators on this machine: {', '.join(available_accelerators())}"
        ) from None


def available_accelerators() -> list[str]:
    names = ["auto", "cpu"]
    if torch.cuda.is_available():
        names.append("gpu")
    if torch.backends.mps.is_available():
        names.append("mps")
    return names
