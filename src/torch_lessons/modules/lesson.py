"""The part every task kind shares: the training steps, one step for val/test, epoch metrics, the optimizer."""

from collections.abc import Callable, Iterable, Sequence

import lightning as L
import torch
from torch import Tensor, nn
from torchmetrics import MetricCollection

from torch_lessons.datamodules.in_memory import BatchGroup
from torch_lessons.modules.lean_steps import OptimizerSteps
from torch_lessons.modules.weighted_mean import WeightedMean

OptimizerFactory = Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer]
STAGES = ("train", "val", "test")
STEP_AXIS = "step"  # logged with the epoch metrics: Lightning uses it as the loggers' x value
EPOCH_AXIS = "epoch"


class LessonModule(L.LightningModule):
    """Trains ``net`` with ``loss`` and the optimizer that ``optimizer(params=...)`` builds.

    Subclasses say which metrics their kind of task reports (``make_metrics``) and how an output
    becomes a prediction (``predict``). Loss and metrics are accumulated on the device and logged
    once per epoch as ``<stage>/loss`` and ``<stage>/<metric>``, so no step waits on ``.item()`` or
    pays for ``self.log``; ``train/loss_step`` is written every ``log_every_n_steps`` optimizer steps.
    TensorBoard's step axis is the optimizer step (``trainer.global_step``) for all of them.

    Training uses manual optimization so that a training batch may be a ``BatchGroup`` (the
    in-memory loader's ``batches_per_group``): one optimizer step per batch in it (lean_steps.py),
    Lightning's fixed cost per ``training_step`` paid once for the group. Batches, their order and
    the updates are the same for any group size; what changes is that ``on_train_batch_start``/
    ``on_train_batch_end`` hooks (progress bar, interrupt check) run once per group, while the
    per-step hooks (``on_before_backward``, ...) still run for every optimizer step.

    Only plain values go into the checkpoint's hyper-parameters: the injected objects are rebuilt
    from the config, which keeps checkpoints loadable with ``torch.load(weights_only=True)``.
    """

    def __init__(self, net: nn.Module, loss: nn.Module, optimizer: OptimizerFactory) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["net", "loss", "optimizer"], logger=False)
        self.net = net
        self.loss = loss
        self.optimizer_factory = optimizer
        self.automatic_optimization = False  # a group of batches is several optimizer steps
        self.optimizer_steps: OptimizerSteps | None = None  # set for each fit, in on_train_start
        for stage in STAGES:
            # no per-step device sync to look for NaNs; a NaN loss shows as NaN; weighted by examples
            setattr(self, f"{stage}_loss", WeightedMean())
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
        self.update_metrics(stage, loss.detach(), targets.shape[0], outputs.detach(), targets)
        return loss, outputs

    def update_metrics(
        self, stage: str, losses: Tensor, weights: Tensor | int, outputs: Tensor, targets: Tensor
    ) -> None:
        getattr(self, f"{stage}_loss").update(losses, weight=weights)
        getattr(self, f"{stage}_metrics").update(outputs, targets)

    def log_epoch_metrics(self, stage: str) -> None:
        """Computes the stage's epoch loss and metrics once (synced across processes) and logs them,
        at the optimizer step (Lightning's ``step`` key) rather than at the count of training_step calls."""
        stage_loss: WeightedMean = getattr(self, f"{stage}_loss")
        stage_metrics: MetricCollection = getattr(self, f"{stage}_metrics")
        # One value per epoch: batch_size=1 spares Lightning from guessing it from a batch group.
        self.log(f"{stage}/loss", stage_loss.compute(), prog_bar=stage != "test", batch_size=1)
        self.log_dict(stage_metrics.compute(), prog_bar=stage == "val", batch_size=1)
        # Lightning leaves out its own "epoch" entry once "step" is given, so both are logged.
        self.log_dict({STEP_AXIS: self.global_step, EPOCH_AXIS: self.current_epoch}, batch_size=1)
        stage_loss.reset()
        stage_metrics.reset()

    def on_train_start(self) -> None:
        self.optimizer_steps = OptimizerSteps(self.trainer, self, self.optimizers())

    def on_train_end(self) -> None:
        self.optimizer_steps = None

    def training_step(self, batch: tuple[Tensor, Tensor] | BatchGroup, batch_index: int) -> None:
        """One optimizer step for a batch, or for each batch of a group (none past
        ``trainer.max_steps``); metrics are updated once for all of them."""
        trainer = self.trainer
        step = self.global_step  # counted here from now on: Lightning's property is a chain of lookups
        last_step = trainer.max_steps if trainer.max_steps >= 0 else None
        losses, sizes, outputs, targets = [], [], [], []
        for batch_inputs, batch_targets in batch if isinstance(batch, BatchGroup) else (batch,):
            if step == last_step:
                break
            batch_outputs = self(batch_inputs)
            loss = self.loss(batch_outputs, batch_targets)
            self.optimizer_steps(loss)
            self.write_loss_step(loss, step)
            step += 1
            losses.append(loss.detach())
            sizes.append(batch_targets.shape[0])
            outputs.append(batch_outputs.detach())
            targets.append(batch_targets)
        if losses:
            weights = torch.tensor(sizes, dtype=losses[0].dtype, device=losses[0].device)
            self.update_metrics("train", torch.stack(losses), weights, torch.cat(outputs), torch.cat(targets))

    def write_loss_step(self, loss: Tensor, step: int) -> None:
        """The per-step curve ``train/loss_step``, written to the loggers after every
        ``log_every_n_steps``-th optimizer step (the only steps that read the loss's value), at the
        step's index as Lightning places step metrics."""
        every = self.trainer.log_every_n_steps
        if every and (step + 1) % every == 0:
            value = loss.detach().float().item()
            for logger in self.loggers:
                logger.log_metrics({"train/loss_step": value}, step=step)

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

    def predict_step(self, batch: Tensor | Sequence[Tensor], batch_index: int) -> dict[str, Tensor]:
        """``predictions`` for a batch of inputs, their ``probabilities`` where ``confidence`` gives one, and
        the batch's ``targets`` when it has them (eval's test split; predict.py's own inputs have none)."""
        inputs, *targets = (batch,) if isinstance(batch, Tensor) else batch
        outputs = self(inputs)
        result = {"predictions": self.predict(outputs)}
        confidence = self.confidence(outputs)
        if confidence is not None:
            result["probabilities"] = confidence
        if targets:
            result["targets"] = targets[0]
        return result

    def confidence(self, outputs: Tensor) -> Tensor | None:
        """How sure each prediction is (classification: its softmax probability); None for no such number."""
        return None

    def configure_optimizers(self) -> torch.optim.Optimizer:
        trainable = [parameter for parameter in self.parameters() if parameter.requires_grad]
        return self.optimizer_factory(params=trainable)
