"""Regression: the net outputs one number per target column."""

from collections.abc import Sequence

from torch import Tensor, nn
from torchmetrics import MeanAbsoluteError, MeanSquaredError, MetricCollection

from torch_lessons.modules.lesson import LessonModule, OptimizerFactory
from torch_lessons.modules.optimization import GradientSettings, LearningRateSchedule


class OutputMeanAbsoluteError(MeanAbsoluteError):
    """The mean absolute error of one output column, so each output's error is a scalar of its own."""

    def __init__(self, column: int) -> None:
        super().__init__()
        self.column = column

    def update(self, preds: Tensor, target: Tensor) -> None:
        super().update(preds[..., self.column], target[..., self.column])


class RegressionModule(LessonModule):
    """Logs ``<stage>/loss``, ``<stage>/mse`` and ``<stage>/mae``, and with several named outputs each
    one's error as ``<stage>/mae_<name>`` (e.g. ``val/mae_apples``); the prediction is the output."""

    def __init__(
        self,
        net: nn.Module,
        loss: nn.Module,
        optimizer: OptimizerFactory,
        output_names: Sequence[str] | None = None,
        scheduler: LearningRateSchedule | None = None,
        gradients: GradientSettings | None = None,
    ) -> None:
        self.output_names = list(output_names or [])
        super().__init__(net, loss, optimizer, scheduler, gradients)

    def make_metrics(self) -> MetricCollection:
        metrics = {"mse": MeanSquaredError(), "mae": MeanAbsoluteError()}
        if len(self.output_names) > 1:
            metrics |= {f"mae_{name}": OutputMeanAbsoluteError(column) for column, name in enumerate(self.output_names)}
        return MetricCollection(metrics)

    def predict(self, outputs: Tensor) -> Tensor:
        return outputs
