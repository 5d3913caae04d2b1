"""What the lesson modules need to step like Lightning's automatic optimization: a learning-rate
schedule (Lightning's ``lr_scheduler`` dict) and the Trainer's gradient settings.

Both are plain settings injected by Hydra (``conf/scheduler/*.yaml``; ``trainer.gradient_clip_val``,
``trainer.gradient_clip_algorithm`` and ``trainer.accumulate_grad_batches``, which assembly.py
moves from the Trainer to the module because Lightning refuses them under manual optimization).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

SchedulerFactory = Callable[..., Any]


@dataclass(frozen=True)
class LearningRateSchedule:
    """A ``_partial_`` torch scheduler and when it steps, with the keys of Lightning's lr_scheduler dict.

    ``interval`` is ``step`` (after an optimizer step, every ``frequency``-th batch of the epoch) or
    ``epoch`` (after the epoch's last batch, every ``frequency``-th epoch); ``monitor`` names the
    metric a ``ReduceLROnPlateau`` is given. ``length_argument`` names the scheduler's argument that
    takes the number of times it will be stepped in the whole fit (e.g. OneCycleLR's ``total_steps``),
    filled in from the Trainer when the fit starts.
    """

    scheduler: SchedulerFactory
    interval: str = "epoch"
    frequency: int = 1
    monitor: str | None = None
    strict: bool = True
    length_argument: str | None = None

    def lightning_config(self, optimizer: torch.optim.Optimizer, total_steps: int, total_epochs: int) -> dict:
        """Lightning's ``lr_scheduler`` dict for ``optimizer``; the totals count optimizer steps and epochs."""
        arguments = {}
        if self.length_argument is not None:
            total = total_steps if self.interval == "step" else total_epochs
            arguments[self.length_argument] = max(1, total // self.frequency)
        scheduler = self.scheduler(optimizer, **arguments)
        # No "monitor"/"strict": under manual optimization Lightning ignores them (with a warning);
        # the module's steps read them from this schedule instead.
        return {"scheduler": scheduler, "interval": self.interval, "frequency": self.frequency}


@dataclass(frozen=True)
class GradientSettings:
    """Lightning's Trainer arguments of the same names, applied by the module's own optimizer steps."""

    gradient_clip_val: float | None = None
    gradient_clip_algorithm: str | None = None
    accumulate_grad_batches: int = 1
