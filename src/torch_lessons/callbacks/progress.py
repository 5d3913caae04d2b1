"""Lightning's Rich progress bar, counting training batches rather than the items Lightning iterates."""

from typing import Any

import lightning as L
from lightning.pytorch.callbacks import RichProgressBar

from torch_lessons.datamodules.in_memory import BatchGroup


class BatchProgressBar(RichProgressBar):
    """``RichProgressBar`` whose training bar counts batches (``51/51`` per epoch on the bundled
    sample) when the in-memory loader hands Lightning groups of them (``data.batches_per_group``).

    Only public hooks and properties are used: the total is the loader's batches per epoch (its
    limits applied), and at the end of each group the bar is advanced to the batches trained so far,
    by handing Lightning's own ``on_train_batch_end`` that count as the batch index.
    """

    @property
    def total_train_batches(self) -> int | float:
        trainer = self.trainer
        batches = getattr(trainer.train_dataloader, "num_batches", None)
        if batches is None:
            return super().total_train_batches
        if trainer.max_epochs == -1 and trainer.max_steps is not None and trainer.max_steps > 0:
            return min(batches, trainer.max_steps - trainer.global_step)
        return batches

    def on_train_batch_end(
        self, trainer: L.Trainer, module: L.LightningModule, outputs: Any, batch: Any, batch_index: int
    ) -> None:
        if isinstance(batch, BatchGroup):
            batch_index = batch.batches_done - 1
        super().on_train_batch_end(trainer, module, outputs, batch, batch_index)
