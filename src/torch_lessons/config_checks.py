"""Checks that need the whole composed config, run once before anything is built.

Each refusal is one line naming the key, the bad value and what is allowed, so a typo on the
command line costs seconds, not a traceback after the data has loaded.
"""

from collections.abc import Callable
from dataclasses import dataclass
from numbers import Real

import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf
from torch import nn

from torch_lessons.errors import ConfigError


@dataclass(frozen=True)
class Rule:
    """A numeric setting: its dotted key, the test its value must pass, and how to say what passes."""

    key: str
    allows: Callable[[Real], bool]
    allowed: str
    integer: bool = False


RULES = (
    Rule("optimizer.lr", lambda value: value > 0, "a number > 0"),
    Rule("data.batch_size", lambda value: value >= 1, "an integer ≥ 1", integer=True),
    Rule("trainer.max_epochs", lambda value: value >= 1 or value == -1, "an integer ≥ 1 (-1: no limit)", integer=True),
    Rule("data.val_fraction", lambda value: 0 < value < 1, "a number strictly between 0 and 1"),
    Rule("data.num_workers", lambda value: value >= 0, "an integer ≥ 0", integer=True),
    Rule("data.batches_per_group", lambda value: value >= 1, "an integer ≥ 1", integer=True),
    Rule("trainer.accumulate_grad_batches", lambda value: value >= 1, "an integer ≥ 1", integer=True),
    Rule("trainer.gradient_clip_val", lambda value: value >= 0, "a number ≥ 0 (or null: no clipping)"),
    Rule("scheduler.frequency", lambda value: value >= 1, "an integer ≥ 1", integer=True),
)


def is_number(value: object, integer: bool) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) if integer else isinstance(value, Real)


def check_values(cfg: DictConfig) -> None:
    """Refuses e.g. ``optimizer.lr=-1`` or ``data.batch_size=0``; keys the config lacks are skipped."""
    for rule in RULES:
        value = OmegaConf.select(cfg, rule.key, default=None)
        if value is None:
            continue
        if not is_number(value, rule.integer) or not rule.allows(value):
            raise ConfigError(f"{rule.key}={value}: must be {rule.allowed}")


OPTIMIZATION_MODES = ("max", "min")


def check_optimized_metric_mode(cfg: DictConfig) -> None:
    """Checked before training: a typo here would otherwise surface only once the run is over."""
    mode = cfg.get("optimized_metric_mode")
    if mode is not None and mode not in OPTIMIZATION_MODES:
        raise ConfigError(f"optimized_metric_mode={mode} is not one of: {', '.join(OPTIMIZATION_MODES)}")


# Settings with a fixed set of values, checked before anything is built (Lightning's own messages come later).
CHOICES = {"trainer.gradient_clip_algorithm": ("norm", "value"), "scheduler.interval": ("step", "epoch")}


def check_choices(cfg: DictConfig) -> None:
    for key, allowed in CHOICES.items():
        value = OmegaConf.select(cfg, key, default=None)
        if value is not None and value not in allowed:
            raise ConfigError(f"{key}={value} is not one of: {', '.join(allowed)}")


def check_loss_fits_task(cfg: DictConfig) -> None:
    """Refuses e.g. ``task=fruit_yield loss=cross_entropy``, naming the losses that fit."""
    loss_choice = HydraConfig.get().runtime.choices.get("loss")
    fitting = list(cfg.task.losses)
    if loss_choice not in fitting:
        raise ConfigError(
            f"loss={loss_choice} does not fit task={cfg.task.name}; losses that fit: {', '.join(fitting)}"
        )


def expected_outputs(cfg: DictConfig) -> tuple[int, str] | None:
    """How many values per example the task needs from the net, and the key that says so."""
    if OmegaConf.select(cfg, "module.num_classes") is not None:
        return int(cfg.module.num_classes), f"data.num_classes={cfg.module.num_classes}"
    if OmegaConf.select(cfg, "data.num_outputs") is not None:
        return int(cfg.data.num_outputs), f"data.num_outputs={cfg.data.num_outputs}"
    return None


def input_width(net: nn.Module, cfg: DictConfig) -> int | None:
    """The data's input width when the config states it, else what the net's first layer takes
    (None for a net without ``in_features``, e.g. a convolutional one: then nothing is checked)."""
    if OmegaConf.select(cfg, "data.num_inputs") is not None:
        return int(cfg.data.num_inputs)
    first_layer = next((module for module in net.modules() if hasattr(module, "in_features")), None)
    return None if first_layer is None else int(first_layer.in_features)


def model_setting(cfg: DictConfig) -> str:
    """``model.layer_sizes=[784, 512, 5]`` when the net is sized that way, else ``model=<choice>``."""
    if "layer_sizes" in cfg.model:
        return f"model.layer_sizes={list(OmegaConf.to_container(cfg.model.layer_sizes, resolve=True))}"
    return f"model={HydraConfig.get().runtime.choices.get('model')}"


def check_net_fits_data(cfg: DictConfig, net: nn.Module) -> None:
    """Runs one dummy example through the net and compares its width with what the task needs,
    so that e.g. a 5-way output layer for 10 classes fails here rather than inside the loss."""
    needed = expected_outputs(cfg)
    width = input_width(net, cfg)
    if width is None:
        return
    try:
        with torch.no_grad():
            outputs = net(torch.zeros(2, width))
    except RuntimeError:
        data_inputs = f"data.num_inputs={cfg.data.num_inputs}" if "num_inputs" in cfg.data else "the data"
        raise ConfigError(
            f"{model_setting(cfg)} does not take {width} input values per example ({data_inputs})"
        ) from None
    if needed is None:
        return
    count, source = needed
    produced = outputs.reshape(2, -1).shape[1]
    if produced != count:
        raise ConfigError(
            f"{model_setting(cfg)} outputs {produced} values per example, but task={cfg.task.name} "
            f"needs {count} ({source})"
        )


def check_config(cfg: DictConfig) -> None:
    check_values(cfg)
    check_optimized_metric_mode(cfg)
    check_choices(cfg)
    check_loss_fits_task(cfg)
