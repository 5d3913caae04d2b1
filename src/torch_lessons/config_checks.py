"""Checks that need the whole composed config, run once before anything is built.

Each refusal is one line naming the key, the bad value and what is allowed, so a typo on the
command line costs seconds, not a traceback after the data has loaded.
"""

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from numbers import Real

import lightning as L
import torch
from hydra.core.hydra_config import HydraConfig
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf
from torch import Tensor, nn

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


# Lightning applies these only under automatic optimization; the lesson modules step the optimizer
# themselves (one step per batch of a group), and Lightning would refuse them with a traceback mid-start.
AUTOMATIC_OPTIMIZATION_ONLY = {"trainer.gradient_clip_val": None, "trainer.accumulate_grad_batches": 1}


def check_trainer_fits_manual_optimization(cfg: DictConfig) -> None:
    for key, supported in AUTOMATIC_OPTIMIZATION_ONLY.items():
        value = OmegaConf.select(cfg, key, default=supported)
        if value != supported:
            shown = "null" if supported is None else supported
            raise ConfigError(
                f"{key}={value} is not supported: the lesson modules take their optimizer steps themselves "
                f"(manual optimization, one step per batch of a group); leave it at {shown}"
            )


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


def model_setting(cfg: DictConfig) -> str:
    """``model=small_cnn`` (the config group choice, else the net's ``_target_``), plus
    ``model.layer_sizes=[...]`` when the net is sized that way."""
    choice = HydraConfig.get().runtime.choices.get("model") if HydraConfig.initialized() else None
    setting = f"model={choice}" if choice else f"model._target_={cfg.model.get('_target_')}"
    if "layer_sizes" in cfg.model:
        setting += f" (model.layer_sizes={list(OmegaConf.to_container(cfg.model.layer_sizes, resolve=True))})"
    return setting


def example_inputs(datamodule: L.LightningDataModule, count: int = 2) -> Tensor:
    """The first ``count`` real inputs of the validation split (prepared and set up as Lightning would)."""
    datamodule.prepare_data()
    datamodule.setup("fit")
    inputs, _ = next(iter(datamodule.val_dataloader()))
    return inputs[:count]


def eager_even_if_compiled() -> AbstractContextManager:
    """Runs a ``compile: true`` net eagerly (torch ≥ 2.6), so the check does not compile a second graph."""
    set_stance = getattr(torch.compiler, "set_stance", None)
    return set_stance("force_eager") if set_stance is not None else nullcontext()


def check_net_fits_data(cfg: DictConfig, net: nn.Module, datamodule: L.LightningDataModule) -> None:
    """Runs two real examples of the data through the net (in eval mode, without gradients) and checks
    that the outputs have the shape the task needs, whatever the architecture: a 5-way output layer
    for 10 classes, or a first layer of the wrong width, fails here rather than inside the loss.

    Only rank 0 checks (the net is the same on every rank): the other ranks of a DDP run must get
    their data through Lightning's own prepare/setup order.
    """
    if rank_zero_only.rank != 0:
        return
    inputs = example_inputs(datamodule)
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
    needed = expected_outputs(cfg)
    if needed is None:
        return
    count, source = needed
    wanted = [len(inputs), count]
    if list(outputs.shape) != wanted:
        raise ConfigError(
            f"{model_setting(cfg)} turns inputs of shape {list(inputs.shape)} into outputs of shape "
            f"{list(outputs.shape)}, but task={cfg.task.name} needs {wanted} ({source})"
        )


def check_config(cfg: DictConfig) -> None:
    check_values(cfg)
    check_optimized_metric_mode(cfg)
    check_trainer_fits_manual_optimization(cfg)
    check_loss_fits_task(cfg)
