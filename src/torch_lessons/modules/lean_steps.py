"""The optimizer steps of a ``training_step`` that trains a group of batches, as Lightning's
automatic optimization would take them one batch per ``training_step``.

For each batch: ``manual_backward`` (the loss scaled by ``1 / accumulate_grad_batches``, as Lightning
scales it); then, at an accumulation boundary or the epoch's last batch, ``optimizer.step()`` through
Lightning's ``LightningOptimizer`` (which runs ``on_before_optimizer_step``, where the module clips
with ``clip_gradients``, and counts ``trainer.global_step``), ``zero_grad``, and the schedulers
Lightning would step there. Lightning steps no scheduler under manual optimization; the rules here
are those of its training loop: an ``interval: step`` scheduler after an optimizer step whose batch
index in the epoch (from 1) divides by ``frequency``, an ``interval: epoch`` one after the epoch's
last batch when the epoch number (from 1) does. ``ReduceLROnPlateau`` gets the monitored metric.

Only public Lightning APIs are used; tests/test_private_members.py keeps it so.
"""

import lightning as L
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
        self.accumulate = gradients.accumulate_grad_batches
        self.schedule = schedule
        self.scheduler = module.lr_schedulers() if schedule is not None else None
        self.on_plateau = isinstance(self.scheduler, ReduceLROnPlateau)
        self.every_step = schedule is not None and schedule.interval == "step"
        self.every_epoch = schedule is not None and schedule.interval == "epoch"

    def after_loss(self, loss: Tensor, batch_index: int, epoch_batches: int) -> bool:
        """Backward for the batch at ``batch_index`` of the epoch; True when an optimizer step followed."""
        self.module.manual_backward(loss / self.accumulate if self.accumulate > 1 else loss)
        last_of_epoch = batch_index + 1 == epoch_batches
        if (batch_index + 1) % self.accumulate and not last_of_epoch:
            return False
        self.optimizer.step()
        self.optimizer.zero_grad()
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
