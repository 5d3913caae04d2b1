"""The learning rate in TensorBoard under one tag, ``train/lr``, whatever the optimizer, at the
optimizer step (``trainer.global_step``) like every other metric of a run."""

import lightning as L
import torch

LEARNING_RATE_TAG = "train/lr"


class LearningRateLogger(L.Callback):
    """Logs each optimizer's learning rate as ``train/lr`` (``train/lr/pg<N>`` for more than one
    parameter group), so a sweep over optimizers compares them in one chart; Lightning's
    ``LearningRateMonitor`` names the tag after the optimizer (``lr-SGD``, ``lr-Adam``).

    When it is logged follows Lightning's monitor: at every epoch start, and when a scheduler steps
    per optimizer step, also every ``log_every_n_steps`` optimizer steps (at the rate that step uses).
    """

    def __init__(self) -> None:
        self.every_step = False

    def on_train_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.every_step = any(config.interval == "step" for config in trainer.lr_scheduler_configs)

    def on_train_epoch_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.log_rates(trainer)

    def on_before_optimizer_step(
        self, trainer: L.Trainer, module: L.LightningModule, optimizer: torch.optim.Optimizer
    ) -> None:
        every = trainer.log_every_n_steps
        if self.every_step and every and (trainer.global_step + 1) % every == 0:
            self.log_rates(trainer)

    def log_rates(self, trainer: L.Trainer) -> None:
        rates = {}
        for optimizer in trainer.optimizers:
            groups = optimizer.param_groups
            for index, group in enumerate(groups):
                rates[LEARNING_RATE_TAG if len(groups) == 1 else f"{LEARNING_RATE_TAG}/pg{index + 1}"] = float(
                    group["lr"]
                )
        for logger in trainer.loggers:
            logger.log_metrics(rates, step=trainer.global_step)
