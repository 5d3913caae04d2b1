"""Lightning's Rich progress bar, counting batches rather than the items Lightning iterates."""

from typing import Any

import lightning as L
from lightning.pytorch.callbacks import RichProgressBar
from lightning.pytorch.callbacks.progress.rich_progress import ProcessingSpeedColumn
from rich.progress import ProgressColumn, Task
from rich.text import Text

from torch_lessons.datamodules.in_memory import BatchGroup, InMemoryBatches, sanity_check_batches


class BatchProgressBar(RichProgressBar):
    """``RichProgressBar`` whose training and validation bars count batches (``51/51`` per epoch on the
    bundled sample) when the in-memory loaders hand Lightning groups of them (``data.batches_per_group``).

    Only public hooks and properties are used: a total is the loader's batches per epoch (its limits
    applied; during the sanity check, the batches it validates), and at the end of each group the bar
    is advanced to the batches done so far, by handing Lightning's own ``on_*_batch_end`` that count
    as the batch index.
    """

    def configure_columns(self, trainer: L.Trainer) -> list:
        """Lightning's columns, with a rate that also shows when an epoch is one group (one update)."""
        return [
            BatchRateColumn(column.style) if isinstance(column, ProcessingSpeedColumn) else column
            for column in super().configure_columns(trainer)
        ]

    @property
    def total_train_batches(self) -> int | float:
        trainer = self.trainer
        batches = grouped_batches(trainer.train_dataloader)
        if batches is None:
            return super().total_train_batches
        if trainer.max_epochs == -1 and trainer.max_steps is not None and trainer.max_steps > 0:
            return min(batches, trainer.max_steps - trainer.global_step)
        return batches

    @property
    def total_val_batches_current_dataloader(self) -> int | float:
        trainer = self.trainer
        batches = grouped_batches(trainer.val_dataloaders)
        if batches is None:
            return super().total_val_batches_current_dataloader
        sanity_batches = sanity_check_batches(trainer)
        return batches if sanity_batches is None else min(batches, sanity_batches)

    def on_train_batch_end(
        self, trainer: L.Trainer, module: L.LightningModule, outputs: Any, batch: Any, batch_index: int
    ) -> None:
        if isinstance(batch, BatchGroup):
            batch_index = batch.batches_done - 1
        super().on_train_batch_end(trainer, module, outputs, batch, batch_index)

    def on_validation_batch_end(
        self,
        trainer: L.Trainer,
        module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_index: int,
        dataloader_index: int = 0,
    ) -> None:
        if isinstance(batch, BatchGroup):
            batch_index = batch.batches_done - 1
        super().on_validation_batch_end(trainer, module, outputs, batch, batch_index, dataloader_index)


def grouped_batches(loader: object) -> int | None:
    """A grouping in-memory loader's batches per epoch (its limits applied), else None: Lightning's
    own count of a loader's items is then its count of batches."""
    if isinstance(loader, InMemoryBatches) and loader.batches_per_group > 1:
        return loader.num_batches
    return None


class BatchRateColumn(ProgressColumn):
    """Batches per second, as Lightning's column shows them. Rich estimates a task's speed from two or
    more updates; a bar advanced once per group may have had one (the sample's 51 batches are one
    group), where Lightning's column would show ``0.00it/s``: then the rate is batches over elapsed time."""

    def __init__(self, style: Any) -> None:
        self.style = style
        super().__init__()

    def render(self, task: Task) -> Text:
        speed = task.speed
        elapsed = task.finished_time or task.elapsed  # finished_time: the elapsed time when it completed
        if speed is None and elapsed:
            speed = task.completed / elapsed
        return Text(f"{speed or 0.0:>.2f}it/s", style=self.style)
