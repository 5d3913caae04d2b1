"""Checks that need the whole composed config, run once before anything is built.

Each refusal is one line naming the key, the bad value and what is allowed, so a typo on the
command line costs seconds, not a traceback after the data has loaded.
"""

import re
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from numbers import Real

import torch
from hydra.core.hydra_config import HydraConfig
from hydra.utils import get_class
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import InterpolationKeyError
from torch import nn

from torch_lessons.config_keys import check_known_keys
from torch_lessons.contract_checks import check_contract
from torch_lessons.datamodules.contract import ClassificationData, RegressionData, TaskData
from torch_lessons.errors import ConfigError


@dataclass(frozen=True)
class Rule:
    """A numeric setting: its dotted key, the test its value must pass, and how to say what passes."""

    key: str
    allows: Callable[[Real], bool]
    allowed: str
    integer: bool = False
    pair: bool = False  # two numbers, e.g. Adam's betas


FLOAT32_MAX = torch.finfo(torch.float32).max
SEED_MAX = 2**32 - 1  # numpy's seed range, which seed_everything passes the seed to

RULES = (
    Rule("optimizer.lr", lambda value: value > 0, "a number > 0"),
    Rule("data.batch_size", lambda value: value >= 1, "an integer ≥ 1", integer=True),
    Rule("trainer.max_epochs", lambda value: value >= 1 or value == -1, "an integer ≥ 1 (-1: no limit)", integer=True),
    Rule("data.val_fraction", lambda value: 0 < value < 1, "a number strictly between 0 and 1"),
    Rule("data.num_workers", lambda value: value >= 0, "an integer ≥ 0", integer=True),
    Rule("data.batches_per_group", lambda value: value >= 1, "an integer ≥ 1", integer=True),
    # The optimizer multiplies float32 weights by lr: a larger value overflows inside its first step.
    Rule("optimizer.lr", lambda value: value <= FLOAT32_MAX, f"a number ≤ {FLOAT32_MAX:.4g} (the largest float32)"),
    Rule("optimizer.momentum", lambda value: value >= 0, "a number ≥ 0"),
    Rule("optimizer.weight_decay", lambda value: value >= 0, "a number ≥ 0"),
    Rule("optimizer.betas", lambda pair: all(0 <= beta < 1 for beta in pair), "two numbers in [0, 1)", pair=True),
    Rule(
        "seed", lambda value: 0 <= value <= SEED_MAX, f"an integer from 0 to {SEED_MAX} (null: unseeded)", integer=True
    ),
    Rule("trainer.max_steps", lambda value: value >= 1 or value == -1, "an integer ≥ 1 (-1: no limit)", integer=True),
    Rule("trainer.accumulate_grad_batches", lambda value: value >= 1, "an integer ≥ 1", integer=True),
    Rule("trainer.gradient_clip_val", lambda value: value >= 0, "a number ≥ 0 (or null: no clipping)"),
    Rule("scheduler.frequency", lambda value: value >= 1, "an integer ≥ 1", integer=True),
)


def is_number(value: object, integer: bool) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) if integer else isinstance(value, Real)


def has_type(value: object, rule: Rule) -> bool:
    if rule.pair:
        return (
            isinstance(value, ListConfig | list | tuple) and len(value) == 2 and all(is_number(v, False) for v in value)
        )
    return is_number(value, rule.integer)


def check_values(cfg: DictConfig) -> None:
    """Refuses e.g. ``optimizer.lr=-1`` or ``data.batch_size=0``; keys the config lacks are skipped."""
    for rule in RULES:
        value = OmegaConf.select(cfg, rule.key, default=None)
        if value is None:
            continue
        if not has_type(value, rule) or not rule.allows(value):
            shown = list(value) if isinstance(value, ListConfig) else value
            raise ConfigError(f"{rule.key}={shown}: must be {rule.allowed}")


# Settings with a fixed set of values, checked before anything is built (Lightning's own messages come later;
# a typo in optimized_metric_mode would otherwise surface only once the run is over).
CHOICES = {
    "optimized_metric_mode": ("max", "min"),
    "trainer.gradient_clip_algorithm": ("norm", "value"),
    "scheduler.interval": ("step", "epoch"),
}


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


def expected_outputs(datamodule: TaskData) -> tuple[int, str] | None:
    """How many values per example the task needs from the net, and the data key that says so."""
    if isinstance(datamodule, ClassificationData):
        return datamodule.num_classes, f"data.num_classes={datamodule.num_classes}"
    if isinstance(datamodule, RegressionData):
        return datamodule.num_outputs, f"data.num_outputs={datamodule.num_outputs}"
    return None


def model_setting(cfg: DictConfig) -> str:
    """``model=small_cnn`` (the config group choice, else the net's ``_target_``), plus
    ``model.layer_sizes=[...]`` when the net is sized that way."""
    choice = HydraConfig.get().runtime.choices.get("model") if HydraConfig.initialized() else None
    setting = f"model={choice}" if choice else f"model._target_={cfg.model.get('_target_')}"
    if "layer_sizes" in cfg.model:
        setting += f" (model.layer_sizes={list(OmegaConf.to_container(cfg.model.layer_sizes, resolve=True))})"
    return setting


def eager_even_if_compiled() -> AbstractContextManager:
    """Runs a ``compile: true`` net eagerly (torch ≥ 2.6), so the check does not compile a second graph."""
    set_stance = getattr(torch.compiler, "set_stance", None)
    return set_stance("force_eager") if set_stance is not None else nullcontext()


def check_net_fits_data(cfg: DictConfig, net: nn.Module, datamodule: TaskData) -> None:
    """Runs two real examples of the data through the net (in eval mode, without gradients) and checks
    that the outputs have the shape the task needs, whatever the architecture: a 5-way output layer
    for 10 classes, or a first layer of the wrong width, fails here rather than inside the loss.

    Only rank 0 checks (the net is the same on every rank): the other ranks of a DDP run must get
    their data through Lightning's own prepare/setup order.
    """
    check_contract(datamodule, TaskData, "data._target_")
    if rank_zero_only.rank != 0:
        return
    inputs, _ = datamodule.example_batch()
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad(), eager_even_if_compiled():
            parameter = next(net.parameters(), None)
            outputs = net(inputs if parameter is None else inputs.to(parameter.device))
    except RuntimeError as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ConfigError(
            f"{model_setting(cfg)} does not take the data's inputs (a batch of shape {list(inputs.shape)}): {reason}"
        ) from None
    finally:
        net.train(was_training)
    needed = expected_outputs(datamodule)
    if needed is None:
        return
    count, source = needed
    wanted = [len(inputs), count]
    if list(outputs.shape) != wanted:
        raise ConfigError(
            f"{model_setting(cfg)} turns inputs of shape {list(inputs.shape)} into outputs of shape "
            f"{list(outputs.shape)}, but task={cfg.task.name} needs {wanted} ({source})"
        )


def check_optimizer_arguments(cfg: DictConfig) -> None:
    """Refuses values torch itself refuses (e.g. Nesterov without momentum), by building the optimizer once for
    a dummy parameter; an argument it does not take at all was refused by ``check_known_keys``."""
    optimizer = cfg.get("optimizer")
    if optimizer is None or "_target_" not in optimizer:
        return
    optimizer_class = get_class(optimizer["_target_"])
    arguments = {key: value for key, value in OmegaConf.to_container(optimizer, resolve=True).items()}
    arguments = {key: value for key, value in arguments.items() if not key.startswith("_")}
    try:
        optimizer_class([torch.zeros(1, requires_grad=True)], **arguments)
    except (ValueError, TypeError, RuntimeError) as error:
        choice = HydraConfig.get().runtime.choices.get("optimizer")
        raise ConfigError(f"optimizer={choice}: {optimizer_class.__name__} refuses its arguments ({error})") from None


def check_validation_runs(cfg: DictConfig) -> None:
    """Validation every n epochs with n above the epoch count never validates: no val metric, no best checkpoint."""
    every, epochs = (
        OmegaConf.select(cfg, "trainer.check_val_every_n_epoch"),
        OmegaConf.select(cfg, "trainer.max_epochs"),
    )
    if isinstance(every, int) and isinstance(epochs, int) and epochs >= 1 and every > epochs:
        raise ConfigError(
            f"trainer.check_val_every_n_epoch={every} is more than trainer.max_epochs={epochs}: validation would "
            f"never run, so nothing logs val metrics or picks the best checkpoint; choose at most {epochs}"
        )


def logged_metric_names(cfg: DictConfig, metric_names: Iterable[str]) -> list[str]:
    """What a run logs: ``<stage>/loss`` and ``<stage>/<metric>`` per stage it runs, and ``epochs``."""
    stages = ("train", "val", "test") if cfg.get("test") else ("train", "val")
    return sorted({"epochs"} | {f"{stage}/{name}" for stage in stages for name in ("loss", *metric_names)})


def unlogged_metric_refusal(cfg: DictConfig, logged: Iterable[str]) -> str | None:
    """The refusal for an ``optimized_metric`` the run does not log (shared by the check before training and
    the look-up after it), or None."""
    name = cfg.get("optimized_metric")
    logged = sorted(logged)
    if name is None or name in logged:
        return None
    return f"optimized_metric={name} is not logged by this run; logged: {', '.join(logged)}"


def check_optimized_metric_is_logged(cfg: DictConfig, metric_names: Iterable[str]) -> None:
    """Before training: a typo in ``optimized_metric`` would otherwise be reported after fit and test."""
    refusal = unlogged_metric_refusal(cfg, logged_metric_names(cfg, metric_names))
    if refusal:
        raise ConfigError(refusal)


def check_references(cfg: DictConfig) -> None:
    """Refuses a value that refers to a key the chosen configs lack, e.g. ``model=linear`` (sized from
    ``${data.num_inputs}``) with ``task=fashion_mnist``, whose data has no such key."""
    try:
        OmegaConf.to_container(cfg, resolve=True)
    except InterpolationKeyError as error:
        found = re.search(r"Interpolation key '([^']+)' not found", str(error))
        missing = found.group(1) if found else str(error).splitlines()[0]
        choices = HydraConfig.get().runtime.choices if HydraConfig.initialized() else {}
        owner, referrer = missing.split(".")[0], str(error.full_key).split(".")[0]
        owner = f"{owner}={choices[owner]}" if owner in choices else owner
        message = f"{error.full_key} refers to {missing}, which {owner} does not have"
        if referrer in choices and "task" in cfg:
            message = f"{referrer}={choices[referrer]} does not fit task={cfg.task.name}: {message}"
        raise ConfigError(message) from None


def check_config(cfg: DictConfig) -> None:
    check_known_keys(cfg)  # first: a value check on a misspelt key would check nothing
    check_values(cfg)
    check_choices(cfg)
    check_optimizer_arguments(cfg)
    check_validation_runs(cfg)
    check_loss_fits_task(cfg)
    check_references(cfg)
