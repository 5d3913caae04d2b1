"""The part every task kind shares: one step for train/val/test, epoch metrics, the optimizer."""

from collections.abc import Callable, Iterable

import lightning as L
import torch
from torch import Tensor, nn
from torchmetrics import MeanMetric, MetricCollection

OptimizerFactory = Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer]
STAGES = ("train", "val", "test")


class LessonModule(L.LightningModule):
    """Trains ``net`` with ``loss`` and the optimizer that ``optimizer(params=...)`` builds.

    Subclasses say which metrics their kind of task reports (``make_metrics``) and how an output
    becomes a prediction (``predict``). Loss and metrics are accumulated on the device and logged
    once per epoch as ``<stage>/loss`` and ``<stage>/<metric>``, so no step waits on ``.item()``.
    Only plain values go into the checkpoint's hyper-parameters: the injected objects are rebuilt
    from the config, which keeps checkpoints loadable with ``torch.load(weights_only=True)``.
    """

    def __init__(self, net: nn.Module, loss: nn.Module, optimizer: OptimizerFactory) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["net", "loss", "optimizer"], logger=False)
        self.net = net
        self.loss = loss
        self.optimizer_factory = optimizer
        for stage in STAGES:
            setattr(self, f"{stage}_loss", MeanMetric())
            setattr(self, f"{stage}_metrics", self.make_metrics().clone(prefix=f"{stage}/"))

    def make_metrics(self) -> MetricCollection:
        raise NotImplementedError

    def predict(self, outputs: Tensor) -> Tensor:
        raise NotImplementedError

    def forward(self, inputs: Tensor) -> Tensor:
        return self.net(inputs)

    def shared_step(self, batch: tuple[Tensor, Tensor], stage: str) -> Tensor:
        inputs, targets = batch
        outputs = self(inputs)
        loss = self.loss(outputs, targets)
        stage_loss: MeanMetric = getattr(self, f"{stage}_loss")
        stage_metrics: MetricCollection = getattr(self, f"{stage}_metrics")
        stage_loss.update(loss.detach(), weight=targets.shape[0])
        stage_metrics.update(outputs.detach(), targets)
        self.log(f"{stage}/loss", stage_loss, on_step=False, on_epoch=True, prog_bar=stage != "test")
        self.log_dict(stage_metrics, on_step=False, on_epoch=True, prog_bar=stage == "val")
        return loss

    def training_step(self, batch: tuple[Tensor, Tensor], batch_index: int) -> Tensor:
        return self.shared_step(batch, "train")

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_index: int) -> Tensor:
        return self.shared_step(batch, "val")

    def test_step(self, batch: tuple[Tensor, Tensor], batch_index: int) -> Tensor:
        return self.shared_step(batch, "test")

    def predict_step(self, batch: tuple[Tensor, Tensor], batch_index: int) -> tuple[Tensor, Tensor]:
        inputs, targets = batch
        return self.predict(self(inputs)), targets

    def configure_optimizers(self) -> torch.optim.Optimizer:
        trainable = [parameter for parameter in self.parameters() if parameter.requires_grad]
        return self.optimizer_factory(params=trainable)
