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
    becomes a prediction (``predict``). Loss and metrics are accumulated on the device by each step
    and logged once per epoch as ``<stage>/loss`` and ``<stage>/<metric>``, so no step waits on
    ``.item()`` or pays for ``self.log``; ``train/loss_step`` is logged every ``log_every_n_steps``.
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
            # nan_strategy="disable": no per-step device sync to look for NaNs; a NaN loss shows as NaN
            setattr(self, f"{stage}_loss", MeanMetric(nan_strategy="disable"))
            setattr(self, f"{stage}_metrics", self.make_metrics().clone(prefix=f"{stage}/"))

    def make_metrics(self) -> MetricCollection:
        raise NotImplementedError

    def predict(self, outputs: Tensor) -> Tensor:
        raise NotImplementedError

    def forward(self, inputs: Tensor) -> Tensor:
        return self.net(inputs)

    def shared_step(self, batch: tuple[Tensor, Tensor], stage: str) -> tuple[Tensor, Tensor]:
        """Forward, loss, and on-device metric updates; returns the loss and the net's outputs.
        Nothing here waits for the device."""
        inputs, targets = batch
        outputs = self(inputs)
        loss = self.loss(outputs, targets)
        getattr(self, f"{stage}_loss").update(loss.detach(), weight=targets.shape[0])
        getattr(self, f"{stage}_metrics").update(outputs.detach(), targets)
        return loss, outputs

    def log_epoch_metrics(self, stage: str) -> None:
        """Computes the stage's epoch loss and metrics once (synced across processes) and logs them."""
        stage_loss: MeanMetric = getattr(self, f"{stage}_loss")
        stage_metrics: MetricCollection = getattr(self, f"{stage}_metrics")
        self.log(f"{stage}/loss", stage_loss.compute(), prog_bar=stage != "test")
        self.log_dict(stage_metrics.compute(), prog_bar=stage == "val")
        stage_loss.reset()
        stage_metrics.reset()

    def training_step(self, batch: tuple[Tensor, Tensor], batch_index: int) -> Tensor:
        loss, _ = self.shared_step(batch, "train")
        # A per-step curve, logged only on the steps the Trainer writes (log_every_n_steps): calling
        # self.log on every step costs more than a small model's step.
        if (self.global_step + 1) % self.trainer.log_every_n_steps == 0:
            self.log("train/loss_step", loss.detach(), on_step=True, on_epoch=False)
        return loss

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_index: int) -> Tensor:
        loss, _ = self.shared_step(batch, "val")
        return loss

    def test_step(self, batch: tuple[Tensor, Tensor], batch_index: int) -> dict[str, Tensor]:
        """Also returns the predictions, for callbacks that show them (figures.py) without a second forward."""
        loss, outputs = self.shared_step(batch, "test")
        return {"loss": loss, "predictions": self.predict(outputs.detach())}

    def on_train_epoch_end(self) -> None:
        self.log_epoch_metrics("train")

    def on_validation_epoch_end(self) -> None:
        self.log_epoch_metrics("val")

    def on_test_epoch_end(self) -> None:
        self.log_epoch_metrics("test")

    def predict_step(self, batch: tuple[Tensor, Tensor], batch_index: int) -> tuple[Tensor, Tensor]:
        inputs, targets = batch
        return self.predict(self(inputs)), targets

    def configure_optimizers(self) -> torch.optim.Optimizer:
        trainable = [parameter for parameter in self.parameters() if parameter.requires_grad]
        return self.optimizer_factory(params=trainable)
