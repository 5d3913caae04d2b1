"""Figures of the test split in TensorBoard's Images tab, so a run can be judged by looking at it.

Each task config picks the callback for its kind of task (``callbacks.test_figures``). They draw only
when the run logs to TensorBoard (``logger=tensorboard``); with ``logger=csv``/``none`` and under
``fast_dev_run`` (whose logger is a dummy) they do nothing.
"""

import math

import lightning as L
import torch
from lightning.pytorch.loggers import TensorBoardLogger
from matplotlib import pyplot
from matplotlib.figure import Figure
from torch import Tensor
from torch.utils.tensorboard import SummaryWriter
from torchmetrics.classification import MulticlassConfusionMatrix

WRONG_COLOR, RIGHT_COLOR = "tab:red", "black"


def tensorboard_writer(trainer: L.Trainer) -> SummaryWriter | None:
    for logger in trainer.loggers:
        if isinstance(logger, TensorBoardLogger):
            return logger.experiment
    return None


class TestSplitFigures(L.Callback):
    """Collects the model's predictions on the test batches and draws figures from them at the end;
    subclasses say what to keep (``collect``) and what to draw (``figures``)."""

    def on_test_epoch_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.predicted: list[Tensor] = []
        self.actual: list[Tensor] = []

    def on_test_batch_end(
        self,
        trainer: L.Trainer,
        module: L.LightningModule,
        outputs: dict[str, Tensor],
        batch: tuple[Tensor, Tensor],
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        if tensorboard_writer(trainer) is not None:
            inputs, targets = batch
            self.collect(inputs.cpu(), outputs["predictions"].cpu(), targets.cpu())

    def on_test_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        writer = tensorboard_writer(trainer)
        if writer is None or not self.actual:
            return
        for tag, figure in self.figures(trainer, module).items():
            writer.add_figure(tag, figure, global_step=trainer.global_step)

    def collect(self, inputs: Tensor, predicted: Tensor, actual: Tensor) -> None:
        raise NotImplementedError

    def figures(self, trainer: L.Trainer, module: L.LightningModule) -> dict[str, Figure]:
        raise NotImplementedError


class ClassificationFigures(TestSplitFigures):
    """After testing: ``test/confusion_matrix`` (torchmetrics' plot, class names on the axes) and
    ``test/predictions``, a grid of the first ``num_images`` test images titled predicted / actual,
    wrong ones in red and marked with ✗."""

    def __init__(self, num_images: int = 32, images_per_row: int = 8) -> None:
        self.num_images = num_images
        self.images_per_row = images_per_row

    def on_test_epoch_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        super().on_test_epoch_start(trainer, module)
        self.confusion = MulticlassConfusionMatrix(num_classes=module.num_classes)
        self.images: list[Tensor] = []

    def collect(self, inputs: Tensor, predicted: Tensor, actual: Tensor) -> None:
        self.confusion.update(predicted, actual)
        wanted = self.num_images - sum(len(images) for images in self.images)
        if wanted > 0:
            self.images.append(inputs[:wanted])
            self.predicted.append(predicted[:wanted])
            self.actual.append(actual[:wanted])

    def figures(self, trainer: L.Trainer, module: L.LightningModule) -> dict[str, Figure]:
        class_names = getattr(trainer.datamodule, "class_names", None) or [str(n) for n in range(module.num_classes)]
        confusion, _ = self.confusion.plot(labels=class_names)
        confusion.set_size_inches(9, 9)
        images, predicted, actual = (torch.cat(parts) for parts in (self.images, self.predicted, self.actual))
        grid = self.prediction_grid(images, predicted, actual, class_names)
        return {"test/confusion_matrix": confusion, "test/predictions": grid}

    def prediction_grid(self, images: Tensor, predicted: Tensor, actual: Tensor, class_names: list[str]) -> Figure:
        rows = math.ceil(len(images) / self.images_per_row)
        figure, axes = pyplot.subplots(rows, self.images_per_row, figsize=(1.6 * self.images_per_row, 1.9 * rows))
        for index, axis in enumerate(axes.flat):
            axis.axis("off")
            if index >= len(images):
                continue
            right = bool(predicted[index] == actual[index])
            axis.imshow(images[index].squeeze(0).numpy(), cmap="gray")
            title = f"{class_names[int(predicted[index])]}\n{'' if right else '✗ '}{class_names[int(actual[index])]}"
            axis.set_title(title, fontsize=7, color=RIGHT_COLOR if right else WRONG_COLOR)
        figure.suptitle("predicted / actual (wrong in red)", fontsize=9)
        figure.tight_layout()
        return figure


class RegressionFigures(TestSplitFigures):
    """After testing: ``test/predicted_vs_actual``, one scatter per output (e.g. apples, oranges)
    with the line predicted = actual that a perfect model would sit on."""

    def collect(self, inputs: Tensor, predicted: Tensor, actual: Tensor) -> None:
        self.predicted.append(predicted.reshape(len(actual), -1))
        self.actual.append(actual.reshape(len(actual), -1))

    def figures(self, trainer: L.Trainer, module: L.LightningModule) -> dict[str, Figure]:
        predicted, actual = torch.cat(self.predicted).double().numpy(), torch.cat(self.actual).double().numpy()
        names = getattr(trainer.datamodule, "target_names", None) or [f"output {n}" for n in range(actual.shape[1])]
        figure, axes = pyplot.subplots(1, actual.shape[1], figsize=(4 * actual.shape[1], 4), squeeze=False)
        for column, axis in enumerate(axes.flat):
            axis.scatter(actual[:, column], predicted[:, column])
            low = min(actual[:, column].min(), predicted[:, column].min())
            high = max(actual[:, column].max(), predicted[:, column].max())
            axis.plot([low, high], [low, high], color="gray", linestyle="--", label="predicted = actual")
            axis.set(title=names[column], xlabel="actual", ylabel="predicted")
            axis.legend(fontsize=7)
        figure.tight_layout()
        return {"test/predicted_vs_actual": figure}
