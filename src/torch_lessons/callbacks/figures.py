"""Figures of the test split in TensorBoard's Images tab, so a run can be judged by looking at it.

One callback (``callbacks.test_figures``) serves every task: it draws what fits the task's kind of data,
read from the datamodule's contract (datamodules/contract.py): ``ClassificationData`` gets a confusion
matrix and a grid of test images, ``RegressionData`` predicted vs actual per output. It draws only when
the run logs to TensorBoard (``logger=tensorboard``); with ``logger=csv``/``none`` and under
``fast_dev_run`` (whose logger is a dummy) it does nothing.
"""

import logging
import math

import lightning as L
import torch
from lightning.pytorch.loggers import TensorBoardLogger
from matplotlib import pyplot
from matplotlib.figure import Figure
from torch import Tensor
from torch.utils.tensorboard import SummaryWriter
from torchmetrics.classification import MulticlassConfusionMatrix

from torch_lessons.datamodules.contract import ClassificationData, RegressionData
from torch_lessons.modules.contract import TestStepOutput

log = logging.getLogger(__name__)
WRONG_COLOR, RIGHT_COLOR = "tab:red", "black"


def tensorboard_writer(trainer: L.Trainer) -> SummaryWriter | None:
    for logger in trainer.loggers:
        if isinstance(logger, TensorBoardLogger):
            return logger.experiment
    return None


class TestSplitFigures(L.Callback):
    """Collects the model's predictions on the test batches and draws figures of them at the end, with
    ``ClassificationFigures`` or ``RegressionFigures`` as the datamodule's kind says (``num_images``: how many
    test images the classification grid shows)."""

    def __init__(self, num_images: int = 32) -> None:
        self.num_images = num_images
        self.drawer: ClassificationFigures | RegressionFigures | None = None

    def on_test_epoch_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.drawer = None
        if tensorboard_writer(trainer) is None:
            return
        data = trainer.datamodule
        if isinstance(data, ClassificationData):
            self.drawer = ClassificationFigures(data.class_names, self.num_images)
        elif isinstance(data, RegressionData):
            self.drawer = RegressionFigures(data.target_names)
        else:
            log.info("No test figures: %s is neither ClassificationData nor RegressionData", type(data).__name__)

    def on_test_batch_end(
        self,
        trainer: L.Trainer,
        module: L.LightningModule,
        outputs: TestStepOutput,
        batch: tuple[Tensor, Tensor],
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        if self.drawer is not None:
            inputs, targets = batch
            self.drawer.collect(inputs.cpu(), outputs["predictions"].cpu(), targets.cpu())

    def on_test_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if self.drawer is None or not self.drawer.actual:
            return
        writer = tensorboard_writer(trainer)
        for tag, figure in self.drawer.figures().items():
            writer.add_figure(tag, figure, global_step=trainer.global_step)
        self.drawer = None


class ClassificationFigures:
    """``test/confusion_matrix`` (torchmetrics' plot, class names on the axes) and, when the inputs are
    images, ``test/predictions``: a grid of the first ``num_images`` test images titled predicted / actual,
    wrong ones in red and marked with ✗."""

    def __init__(self, class_names: list[str], num_images: int = 32, images_per_row: int = 8) -> None:
        self.class_names = class_names
        self.num_images = num_images
        self.images_per_row = images_per_row
        self.confusion = MulticlassConfusionMatrix(num_classes=len(class_names))
        self.images: list[Tensor] = []
        self.predicted: list[Tensor] = []
        self.actual: list[Tensor] = []

    def collect(self, inputs: Tensor, predicted: Tensor, actual: Tensor) -> None:
        self.confusion.update(predicted, actual)
        wanted = self.num_images - sum(len(images) for images in self.images)
        if wanted > 0:
            self.images.append(inputs[:wanted])
            self.predicted.append(predicted[:wanted])
            self.actual.append(actual[:wanted])

    def figures(self) -> dict[str, Figure]:
        confusion, _ = self.confusion.plot(labels=self.class_names)
        confusion.set_size_inches(9, 9)
        figures = {"test/confusion_matrix": confusion}
        images, predicted, actual = (torch.cat(parts) for parts in (self.images, self.predicted, self.actual))
        if images.dim() in (3, 4):  # N×H×W or N×C×H×W: pictures worth showing, not table rows
            figures["test/predictions"] = self.prediction_grid(images, predicted, actual, self.class_names)
        return figures

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


class RegressionFigures:
    """``test/predicted_vs_actual``: one scatter per output (e.g. apples, oranges) with the line
    predicted = actual that a perfect model would sit on."""

    def __init__(self, target_names: list[str] | None) -> None:
        self.target_names = target_names
        self.predicted: list[Tensor] = []
        self.actual: list[Tensor] = []

    def collect(self, inputs: Tensor, predicted: Tensor, actual: Tensor) -> None:
        self.predicted.append(predicted.reshape(len(actual), -1))
        self.actual.append(actual.reshape(len(actual), -1))

    def figures(self) -> dict[str, Figure]:
        predicted, actual = torch.cat(self.predicted).double().numpy(), torch.cat(self.actual).double().numpy()
        names = self.target_names or [f"output {n}" for n in range(actual.shape[1])]
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
