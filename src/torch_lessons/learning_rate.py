"""The learning rate in TensorBoard at the same x values as every other metric of a run."""

from typing import Any

import lightning as L
from lightning.pytorch.callbacks import LearningRateMonitor


class EpochLearningRateMonitor(LearningRateMonitor):
    """Lightning's ``LearningRateMonitor`` at every epoch start, placed at the optimizer step
    (``trainer.global_step``). Lightning's own places it at the count of ``training_step`` calls,
    which is smaller once training batches arrive in groups (``data.batches_per_group``)."""

    def __init__(self, log_momentum: bool = False, log_weight_decay: bool = False) -> None:
        super().__init__(logging_interval="epoch", log_momentum=log_momentum, log_weight_decay=log_weight_decay)

    def on_train_epoch_start(self, trainer: L.Trainer, *args: Any, **kwargs: Any) -> None:
        rates = self._extract_stats(trainer, "epoch")
        for logger in trainer.loggers if rates else ():
            logger.log_metrics(rates, step=trainer.global_step)
