"""Classification: the net outputs one logit per class; accuracy is the task metric."""

from torch import Tensor, nn
from torchmetrics import MetricCollection
from torchmetrics.classification import MulticlassAccuracy

from torch_lessons.modules.lesson import LessonModule, OptimizerFactory
from torch_lessons.modules.optimization import GradientSettings, LearningRateSchedule


class ClassificationModule(LessonModule):
    """Logs ``<stage>/loss`` and ``<stage>/acc``; predicts the class with the largest logit."""

    def __init__(
        self,
        net: nn.Module,
        loss: nn.Module,
        optimizer: OptimizerFactory,
        num_classes: int,
        scheduler: LearningRateSchedule | None = None,
        gradients: GradientSettings | None = None,
    ) -> None:
        self.num_classes = num_classes
        super().__init__(net, loss, optimizer, scheduler, gradients)

    def make_metrics(self) -> MetricCollection:
        # validate_args=False: the per-step input checks cost more than this small model's step
        accuracy = MulticlassAccuracy(num_classes=self.num_classes, average="micro", validate_args=False)
        return MetricCollection({"acc": accuracy})

    def predict(self, outputs: Tensor) -> Tensor:
        return outputs.argmax(dim=-1)

    def confidence(self, outputs: Tensor) -> Tensor:
        return outputs.softmax(dim=-1).amax(dim=-1)
