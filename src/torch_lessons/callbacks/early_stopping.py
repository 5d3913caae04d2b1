"""Lightning's EarlyStopping, saying in one line why it stopped the run, when, and the best value.

Lightning stops silently unless ``verbose=True``, which also logs every improvement; here the run ends
with ``early stopping: val/acc did not improve for 3 epochs; stopped after epoch 12, best 0.8730 at epoch 9``
(epochs counted from 1, as the progress printouts and result.json's ``epochs`` count them).
"""

import logging
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import EarlyStopping
from lightning.pytorch.callbacks.early_stopping import EarlyStoppingReason

log = logging.getLogger(__name__)


class EarlyStoppingWithReason(EarlyStopping):
    """``EarlyStopping`` (same arguments, so a misspelt one is refused before the run) that remembers the
    epoch of the best value and, when it stopped the run, logs one line from its public ``stopping_reason``."""

    best_epoch: int | None = None  # counted from 1; set on the instance at each new best value
    last_value: float | None = None  # the monitored value at the last check

    def on_validation_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        best_before = self.best_score.clone()
        super().on_validation_end(trainer, module)
        self.note_check(trainer, best_before)

    def on_train_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        best_before = self.best_score.clone()
        super().on_train_epoch_end(trainer, module)
        self.note_check(trainer, best_before)

    def note_check(self, trainer: L.Trainer, best_before: torch.Tensor) -> None:
        """After Lightning's check: the epoch of a new best value, and the monitored value last seen."""
        if not torch.equal(self.best_score.cpu(), best_before.cpu()):
            self.best_epoch = trainer.current_epoch + 1
        value = trainer.callback_metrics.get(self.monitor)
        if value is not None:
            self.last_value = float(value)

    def on_train_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if self.stopping_reason != EarlyStoppingReason.NOT_STOPPED and trainer.is_global_zero:
            log.info(self.stop_line())

    def stop_line(self) -> str:
        """``early stopping: <why>; stopped after epoch N, best V at epoch M``."""
        stopped = self.stopped_epoch + 1
        why = {
            EarlyStoppingReason.PATIENCE_EXHAUSTED: self.patience_reason(stopped),
            EarlyStoppingReason.NON_FINITE_METRIC: f"{self.monitor} is {self.last_value}",
            EarlyStoppingReason.STOPPING_THRESHOLD: f"{self.monitor} reached {self.stopping_threshold}",
            EarlyStoppingReason.DIVERGENCE_THRESHOLD: f"{self.monitor} crossed {self.divergence_threshold}",
        }[self.stopping_reason]
        if self.best_epoch is None:
            return f"early stopping: {why}; stopped after epoch {stopped}, before any best value"
        best = f"best {float(self.best_score):.4g} at epoch {self.best_epoch}"
        return f"early stopping: {why}; stopped after epoch {stopped}, {best}"

    def patience_reason(self, stopped: int) -> str:
        """``val/acc did not improve for 3 epochs``, with the validations counted when they were fewer."""
        by = f" by more than {abs(self.min_delta):g}" if self.min_delta else ""
        epochs = stopped - self.best_epoch if self.best_epoch is not None else stopped
        checks = "" if epochs == self.wait_count else f" ({self.wait_count} validations)"
        return f"{self.monitor} did not improve{by} for {epochs} epoch{'s' if epochs != 1 else ''}{checks}"

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "best_epoch": self.best_epoch}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        self.best_epoch = state_dict.get("best_epoch")
