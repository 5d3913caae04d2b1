"""Regression: the net outputs one number per target column."""

from torch import Tensor
from torchmetrics import MeanAbsoluteError, MeanSquaredError, MetricCollection

from torch_lessons.modules.lesson import LessonModule


class RegressionModule(LessonModule):
    """Logs ``<stage>/loss``, ``<stage>/mse`` and ``<stage>/mae``; the prediction is the output."""

    def make_metrics(self) -> MetricCollection:
        return MetricCollection({"mse": MeanSquaredError(), "mae": MeanAbsoluteError()})

    def predict(self, outputs: Tensor) -> Tensor:
        return outputs
