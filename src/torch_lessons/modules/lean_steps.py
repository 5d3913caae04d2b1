"""The optimizer step of each batch in a ``training_step`` that trains a group of batches.

Lightning pays a fixed cost per ``training_step`` call (loop bookkeeping, every callback asked about
every hook), which for a small model is a large share of the step. The in-memory loader can therefore
hand Lightning groups of batches (``data.batches_per_group``), which ``LessonModule`` trains one
optimizer step each (manual optimization); this class takes each of those steps.

On one device without loss scaling it does what Lightning's ``manual_backward`` + ``optimizer.step()``
do there, minus the generic dispatch: the per-step hooks (``on_before_backward``,
``on_after_backward``, ``on_before_optimizer_step``) are called only on the callbacks and the module
that define them, and ``trainer.global_step`` counts every step through the counters Lightning
attached to the optimizer. Anywhere else (DDP and other strategies, 16-bit loss scaling, other
precision plugins) it calls Lightning's own ``manual_backward`` and ``optimizer.step()``.
"""

from collections.abc import Callable
from functools import partial

import lightning as L
from lightning.pytorch.core.optimizer import LightningOptimizer
from lightning.pytorch.plugins.precision import DoublePrecision, HalfPrecision, MixedPrecision, Precision
from lightning.pytorch.strategies import SingleDeviceStrategy
from lightning.pytorch.utilities.model_helpers import is_overridden
from torch import Tensor

# Precision plugins whose backward and optimizer step are plain torch calls when they hold no scaler.
PLAIN_STEP_PRECISIONS = (Precision, DoublePrecision, HalfPrecision, MixedPrecision)
STEP_HOOKS = ("on_before_backward", "on_after_backward", "on_before_optimizer_step")


def takes_plain_steps(trainer: L.Trainer) -> bool:
    """True where Lightning's manual step is plain ``backward()`` + ``optimizer.step()`` plus hooks."""
    plugin = trainer.precision_plugin
    return (
        type(trainer.strategy) is SingleDeviceStrategy
        and type(plugin) in PLAIN_STEP_PRECISIONS
        and getattr(plugin, "scaler", None) is None
    )


def hooks_defined(trainer: L.Trainer, module: L.LightningModule, name: str) -> list[Callable]:
    """The ``name`` hooks that do something: callbacks' (bound to trainer and module), then the module's."""
    hooks: list[Callable] = [
        partial(getattr(callback, name), trainer, module)
        for callback in trainer.callbacks
        if is_overridden(name, callback, L.Callback)
    ]
    if is_overridden(name, module, L.LightningModule):
        hooks.append(getattr(module, name))
    return hooks


class OptimizerSteps:
    """``steps(loss)`` = backward, optimizer step, zero grad, with the per-step hooks Lightning's
    manual optimization calls. Built at the start of each fit (callbacks and strategy are known then)."""

    def __init__(self, trainer: L.Trainer, module: L.LightningModule, optimizer: LightningOptimizer) -> None:
        self.module = module
        self.optimizer = optimizer
        self.plain = takes_plain_steps(trainer)
        hooks = {name: hooks_defined(trainer, module, name) for name in STEP_HOOKS}
        self.before_backward = hooks["on_before_backward"]
        self.after_backward = hooks["on_after_backward"]
        self.before_optimizer_step = hooks["on_before_optimizer_step"]

    def __call__(self, loss: Tensor) -> None:
        if not self.plain:
            self.module.manual_backward(loss)
            self.optimizer.step()
            self.optimizer.zero_grad()
            return
        for hook in self.before_backward:
            hook(loss)
        loss.backward()
        for hook in self.after_backward:
            hook()
        optimizer = self.optimizer.optimizer
        # The counters behind trainer.global_step, as LightningOptimizer.step() advances them.
        self.optimizer._on_before_step()
        for hook in self.before_optimizer_step:
            hook(optimizer)
        optimizer.step()
        self.optimizer._on_after_step()
        optimizer.zero_grad()
