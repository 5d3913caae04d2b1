"""The optimizer steps of a ``training_step`` that trains a group of batches, as Lightning's
automatic optimization would take them one batch per ``training_step``.

For each batch: the backward pass (the loss scaled by ``1 / accumulate_grad_batches``, as Lightning
scales it); then, at an accumulation boundary or the epoch's last batch, the optimizer step (after
``on_before_optimizer_step``, where the module clips with ``clip_gradients``; counted in
``trainer.global_step``), ``zero_grad``, and the schedulers Lightning would step there. Lightning
steps no scheduler under manual optimization; the rules here are those of its training loop: an
``interval: step`` scheduler after an optimizer step whose batch index in the epoch (from 1) divides
by ``frequency``, an ``interval: epoch`` one after the epoch's last batch when the epoch number (from
1) does. ``ReduceLROnPlateau`` gets the monitored metric.

Backward and step go through Lightning's ``manual_backward`` and ``LightningOptimizer.step()``, except
on one device in 32-bit precision, where the hooks that exist are called directly (``on_plain_device``);
that path uses the two private members allow-listed in tests/test_private_members.py.
"""

from collections.abc import Callable
from functools import partial

import lightning as L
from lightning.pytorch.plugins import Precision
from lightning.pytorch.strategies import SingleDeviceStrategy
from lightning.pytorch.utilities.model_helpers import is_overridden
from torch import Tensor
from torch.optim.lr_scheduler import ReduceLROnPlateau

from torch_lessons.errors import ConfigError
from torch_lessons.modules.optimization import GradientSettings, LearningRateSchedule


class OptimizerSteps:
    """``steps.after_loss(loss, batch_index, epoch_batches)`` for each batch, in order. Built at the
    start of each fit, when the Trainer has built the optimizer and the scheduler.

    The schedule's ``monitor`` and ``strict`` are read from the module's ``LearningRateSchedule``:
    Lightning drops those keys from the lr_scheduler dict under manual optimization."""

    def __init__(
        self, module: L.LightningModule, gradients: GradientSettings, schedule: LearningRateSchedule | None
    ) -> None:
        self.module = module
        self.trainer = module.trainer
        self.optimizer = module.optimizers()
        self.raw_optimizer = self.optimizer.optimizer
        self.accumulate = gradients.accumulate_grad_batches
        self.schedule = schedule
        self.scheduler = module.lr_schedulers() if schedule is not None else None
        self.on_plateau = isinstance(self.scheduler, ReduceLROnPlateau)
        self.every_step = schedule is not None and schedule.interval == "step"
        self.every_epoch = schedule is not None and schedule.interval == "epoch"
        plain = on_plain_device(module)
        self.backward = self.plain_backward if plain and not backward_hooked(module) else module.manual_backward
        self.step_optimizer = self.plain_optimizer_step if plain else self.optimizer.step
        self.before_step_hooks = hooks_defined(module, "on_before_optimizer_step")

    def plain_backward(self, loss: Tensor) -> None:
        loss.backward()

    def plain_optimizer_step(self) -> None:
        """``LightningOptimizer.step()`` on one device in 32-bit precision, without Lightning's dispatch
        of ``on_before_optimizer_step`` to every callback: the hooks that exist are called directly,
        in Lightning's order (callbacks, then the module), and the LightningOptimizer's own
        ``_on_before_step``/``_on_after_step`` count the step in ``trainer.global_step`` and time it
        for a profiler, as ``step()`` does. See the allow-list in tests/test_private_members.py."""
        self.optimizer._on_before_step()
        for hook in self.before_step_hooks:
            hook(self.raw_optimizer)
        self.raw_optimizer.step()
        self.optimizer._on_after_step()

    def after_loss(self, loss: Tensor, batch_index: int, epoch_batches: int) -> bool:
        """Backward for the batch at ``batch_index`` of the epoch; True when an optimizer step followed."""
        self.backward(loss / self.accumulate if self.accumulate > 1 else loss)
        last_of_epoch = batch_index + 1 == epoch_batches
        if (batch_index + 1) % self.accumulate and not last_of_epoch:
            return False
        self.step_optimizer()
        self.raw_optimizer.zero_grad()
        if self.every_step and (batch_index + 1) % self.schedule.frequency == 0:
            self.step_scheduler()
        if last_of_epoch and self.every_epoch and not self.on_plateau:
            self.step_scheduler_at_epoch_end()
        return True

    def at_epoch_end(self) -> None:
        """``ReduceLROnPlateau`` with ``interval: epoch``, once validation has logged its metric."""
        if self.every_epoch and self.on_plateau:
            self.step_scheduler_at_epoch_end()

    def step_scheduler_at_epoch_end(self) -> None:
        if (self.trainer.current_epoch + 1) % self.schedule.frequency == 0:
            self.step_scheduler()

    def step_scheduler(self) -> None:
        metric = None
        if self.on_plateau:
            monitor = self.schedule.monitor
            metric = self.trainer.callback_metrics.get(monitor)
            if metric is None:
                if not self.schedule.strict:
                    return
                logged = ", ".join(sorted(self.trainer.callback_metrics)) or "none yet"
                raise ConfigError(
                    f"scheduler.monitor={monitor} was not logged before the scheduler stepped "
                    f"(logged: {logged}); name a logged metric, or validate before it steps"
                )
        self.module.lr_scheduler_step(self.scheduler, metric)


BACKWARD_HOOKS = ("on_before_backward", "on_after_backward")


def on_plain_device(module: L.LightningModule) -> bool:
    """One device in 32-bit precision: no gradient scaler, no DDP gradient sync, so that Lightning's
    ``manual_backward`` and ``LightningOptimizer.step()`` come down to their hooks around
    ``loss.backward()`` and ``optimizer.step()``. Dispatching those hooks to every callback costs
    more than a small net's backward (``benchmarks/epoch_throughput.py``), so there the steps call
    the hooks that exist themselves; any other strategy or precision goes through Lightning."""
    trainer = module.trainer
    return type(trainer.strategy) is SingleDeviceStrategy and type(trainer.precision_plugin) is Precision


def hooks_defined(module: L.LightningModule, name: str) -> list[Callable]:
    """The ``name`` hooks that do something, in Lightning's order: the callbacks' (bound to the trainer
    and module), then the module's."""
    trainer = module.trainer
    hooks: list[Callable] = [
        partial(getattr(callback, name), trainer, module)
        for callback in trainer.callbacks
        if is_overridden(name, callback, L.Callback)
    ]
    if is_overridden(name, module, L.LightningModule):
        hooks.append(getattr(module, name))
    return hooks


def backward_hooked(module: L.LightningModule) -> bool:
    """Whether a callback or the module hooks the backward pass (then ``manual_backward`` runs it)."""
    return is_overridden("backward", module, L.LightningModule) or any(
        hooks_defined(module, name) for name in BACKWARD_HOOKS
    )
