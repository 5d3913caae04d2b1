"""Start from a checkpoint's weights and keep chosen parameters fixed (the lesson's requires_grad=False)."""

import logging
from collections.abc import Sequence
from fnmatch import fnmatch

from torch import nn

from torch_lessons.checkpoints.loading import check_same_task, check_weights_fit, load_checkpoint
from torch_lessons.errors import ConfigError

log = logging.getLogger(__name__)


def init_from_checkpoint(module: nn.Module, checkpoint_path: str, task_name: str) -> None:
    """Loads the weights of a checkpoint the same task wrote; other tasks and shapes are refused."""
    checkpoint = load_checkpoint(checkpoint_path, key="model.init_from")
    check_same_task(checkpoint, task_name, checkpoint_path, key="model.init_from")
    check_weights_fit(module, checkpoint, checkpoint_path, key="model.init_from")
    module.load_state_dict(checkpoint["state_dict"])
    log.info("Initialised the weights from %s", checkpoint_path)


def freeze_parameters(module: nn.Module, patterns: Sequence[str]) -> None:
    """Turns off gradients for parameters whose names match a glob (``net.layers.0.*``); the
    module's optimizer then receives only the trainable ones, so frozen ones never change."""
    parameters = dict(module.named_parameters())
    for pattern in patterns:
        matched = [name for name in parameters if fnmatch(name, pattern)]
        if not matched:
            raise ConfigError(
                f"model.freeze pattern {pattern!r} matches no parameter; the parameters are: {', '.join(parameters)}"
            )
        for name in matched:
            parameters[name].requires_grad_(False)
    trainable = sum(parameter.numel() for parameter in parameters.values() if parameter.requires_grad)
    frozen = sum(parameter.numel() for parameter in parameters.values() if not parameter.requires_grad)
    if patterns and trainable == 0:
        raise ConfigError(
            f"model.freeze={list(patterns)} freezes every parameter, so nothing would train; "
            f"leave at least one of these out: {', '.join(parameters)}"
        )
    log.info("Parameters: %s trainable, %s frozen", f"{trainable:,}", f"{frozen:,}")
