"""The part every task kind shares: the training steps, one step for val/test, epoch metrics, the optimizer."""

import math
from collections.abc import Callable, Iterable, Sequence

import lightning as L
import torch
from torch import Tensor, nn
from torchmetrics import MetricCollection

from torch_lessons.datamodules.in_memory import BatchGroup
from torch_lessons.modules.contract import PredictStepOutput, TestStepOutput
from torch_lessons.modules.lean_steps import OptimizerSteps
from torch_lessons.modules.optimization import GradientSettings, LearningRateSchedule
from torch_lessons.modules.weighted_mean import WeightedMean

OptimizerFactory = Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer]
STAGES = ("train", "val", "test")
STEP_AXIS = "step"  # logged with the epoch metrics: Lightning uses it as the loggers' x value
EPOCH_AXIS = "epoch"


class LessonModule(L.LightningModule):
    """Trains ``net`` with ``loss``, the optimizer that ``optimizer(params=...)`` builds and, if given,
    a learning-rate ``scheduler``; fulfils the task module contract (contract.py, ``TaskModule``).

    A task kind (or a user's subclass) writes the loss of ONE batch in ``model_step``; metrics in
    ``make_metrics`` and how an output becomes a prediction in ``predict``. Loss and metrics are
    accumulated on the device and logged once per epoch as ``<stage>/loss`` and ``<stage>/<metric>``;
    ``train/loss_step`` is written every ``log_every_n_steps`` optimizer steps, read from the device
    once per group. TensorBoard's step axis is the optimizer step (``trainer.global_step``).

    Training uses manual optimization so that a training batch may be a ``BatchGroup`` (the
    in-memory loader's ``batches_per_group``): lean_steps.py takes each batch's backward and
    optimizer step as Lightning's automatic optimization would (accumulation, clipping, schedulers),
    so the updates are the same for any group size. Lightning's per-step hooks
    (``on_before_backward``, ``on_after_backward``, ``on_before_optimizer_step``) run for every batch
    or step; ``on_train_batch_start``/``on_train_batch_end`` once per group, except that the
    checkpoint callbacks' ``on_train_batch_end`` also runs after each optimizer step inside a group
    (so ``ModelCheckpoint(every_n_train_steps=N)`` saves every N steps). Validation batches come in
    groups too; ``validation_step`` puts each through ``model_step``. Test batches come one at a time.

    Only plain values go into the checkpoint's hyper-parameters: the injected objects are rebuilt
    from the config, which keeps checkpoints loadable with ``torch.load(weights_only=True)``.
    """

    def __init__(
        self,
        net: nn.Module,
        loss: nn.Module,
        optimizer: OptimizerFactory,
        scheduler: LearningRateSchedule | None = None,
        gradients: GradientSettings | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["net", "loss", "optimizer", "scheduler", "gradients"], logger=False)
        self.net = net
        self.loss = loss
        self.optimizer_factory = optimizer
        self.schedule = scheduler
        self.gradients = gradients or GradientSettings()
        self.automatic_optimization = False  # a group of batches is several optimizer steps
        self.optimizer_steps: OptimizerSteps | None = None  # set for each fit, in on_train_start
        # The current group's batch losses (on the device) and the optimizer step each was trained
        # in: StopOnNonFiniteLoss checks them once per group, and before any checkpoint is saved.
        self.group_losses: list[Tensor] = []
        self.group_steps: list[int] = []
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

    def model_step(self, batch: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
        """The loss of one ``(inputs, targets)`` batch and the net's outputs: the one method a new
        task kind or a subclass overrides to change how a batch is trained, validated and tested.
        Nothing here may wait for the device (no ``.item()``)."""
        inputs, targets = batch
        outputs = self(inputs)
        return self.loss(outputs, targets), outputs

    def shared_step(self, batch: tuple[Tensor, Tensor], stage: str) -> tuple[Tensor, Tensor]:
        """``model_step`` plus the stage's on-device metric updates (validation and test)."""
        loss, outputs = self.model_step(batch)
        targets = batch[1]
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
        self.optimizer_steps = OptimizerSteps(self, self.gradients, self.schedule)

    def on_train_end(self) -> None:
        self.optimizer_steps = None

    def training_step(self, batch: tuple[Tensor, Tensor] | BatchGroup, batch_index: int) -> None:
        """Trains each batch of a group (or the one batch) in turn, none past ``trainer.max_steps``;
        metrics are updated, and losses read for ``train/loss_step``, once for the whole group."""
        trainer = self.trainer
        group = batch
        if not isinstance(group, BatchGroup):  # one batch from a DataLoader, or an ungrouped in-memory loader
            group = BatchGroup([batch], batch_index, trainer.num_training_batches)
        step = self.global_step  # counted here from now on: Lightning's property is a chain of lookups
        last_step = trainer.max_steps if trainer.max_steps >= 0 else None
        every = trainer.log_every_n_steps
        checkpoints = trainer.checkpoint_callbacks
        self.group_losses, self.group_steps = losses, steps = [], []
        outputs, targets, logged = [], [], []
        for offset, one_batch in enumerate(trainer.precision_plugin.convert_input(group.batches)):
            if step == last_step:
                break
            loss, batch_outputs = self.model_step(one_batch)
            losses.append(loss.detach())
            steps.append(step)
            stepped = self.optimizer_steps.after_loss(loss, group.first_batch + offset, group.epoch_batches)
            group.trained += 1
            outputs.append(batch_outputs.detach())
            targets.append(one_batch[1])
            if not stepped:
                continue
            if every and (step + 1) % every == 0:
                logged.append(offset)
            step += 1
            if offset + 1 < len(group):  # after the group's last step Lightning calls them itself
                for checkpoint in checkpoints:
                    checkpoint.on_train_batch_end(trainer, self, None, group, batch_index)
        if losses:
            self.update_group_metrics("train", losses, outputs, targets)
            self.write_loss_steps([steps[offset] for offset in logged], [losses[offset] for offset in logged])

    def update_group_metrics(
        self, stage: str, losses: list[Tensor], outputs: list[Tensor], targets: list[Tensor]
    ) -> Tensor:
        """Updates the stage's metrics once with a group's batch losses (weighted by their examples),
        outputs and targets; returns the group's loss, a mean over its examples."""
        weights = torch.tensor([len(t) for t in targets], dtype=losses[0].dtype, device=losses[0].device)
        batch_losses = torch.stack(losses)
        self.update_metrics(stage, batch_losses, weights, torch.cat(outputs), torch.cat(targets))
        return (batch_losses * weights).sum() / weights.sum()

    def write_loss_steps(self, steps: list[int], losses: list[Tensor]) -> None:
        """The per-step curve ``train/loss_step``: the loss of the batch each logged optimizer step
        was taken on, at that step's index (as Lightning places step metrics); one read per group."""
        if not steps:
            return
        values = torch.stack(losses).float().tolist()
        for step, value in zip(steps, values, strict=True):
            for logger in self.loggers:
                logger.log_metrics({"train/loss_step": value}, step=step)

    def on_before_optimizer_step(self, optimizer: torch.optim.Optimizer) -> None:
        """Clips as Lightning's automatic optimization does at this point (after the callbacks'
        ``on_before_optimizer_step``, after a GradScaler has unscaled). A subclass that overrides
        this hook calls ``super().on_before_optimizer_step(optimizer)``."""
        if self.gradients.gradient_clip_val:
            self.clip_gradients(
                optimizer, self.gradients.gradient_clip_val, self.gradients.gradient_clip_algorithm or "norm"
            )

    def validation_step(self, batch: tuple[Tensor, Tensor] | BatchGroup, batch_index: int) -> Tensor:
        """The loss of one batch, or of a group of them (mean over its examples): each batch goes
        through ``model_step``, and the metrics are updated once per group."""
        if not isinstance(batch, BatchGroup):
            loss, _ = self.shared_step(batch, "val")
            return loss
        losses, outputs, targets = [], [], []
        for one_batch in self.trainer.precision_plugin.convert_input(batch.batches):
            loss, batch_outputs = self.model_step(one_batch)
            losses.append(loss.detach())
            outputs.append(batch_outputs.detach())
            targets.append(one_batch[1])
        batch.trained = len(batch)  # the loader's saved position counts the group as done
        return self.update_group_metrics("val", losses, outputs, targets)

    def test_step(self, batch: tuple[Tensor, Tensor], batch_index: int) -> TestStepOutput:
        """Also returns the predictions, for callbacks that show them (figures.py) without a second forward."""
        loss, outputs = self.shared_step(batch, "test")
        return TestStepOutput(loss=loss, predictions=self.predict(outputs.detach()))

    def on_train_epoch_end(self) -> None:
        self.log_epoch_metrics("train")
        if self.optimizer_steps is not None:
            self.optimizer_steps.at_epoch_end()

    def on_validation_epoch_end(self) -> None:
        self.log_epoch_metrics("val")

    def on_test_epoch_end(self) -> None:
        self.log_epoch_metrics("test")

    def predict_step(self, batch: Tensor | Sequence[Tensor], batch_index: int) -> PredictStepOutput:
        """``predictions`` for a batch of inputs, their ``probabilities`` where ``confidence`` gives one, and
        the batch's ``targets`` when it has them (eval's test split; predict.py's own inputs have none)."""
        inputs, *targets = (batch,) if isinstance(batch, Tensor) else batch
        outputs = self(inputs)
        result = PredictStepOutput(predictions=self.predict(outputs))
        confidence = self.confidence(outputs)
        if confidence is not None:
            result["probabilities"] = confidence
        if targets:
            result["targets"] = targets[0]
        return result

    def confidence(self, outputs: Tensor) -> Tensor | None:
        """How sure each prediction is (classification: its softmax probability); None for no such number."""
        return None

    def configure_optimizers(self) -> torch.optim.Optimizer | dict:
        """The optimizer over the trainable parameters, with Lightning's ``lr_scheduler`` dict when a
        schedule is set (stepped by lean_steps.py, since Lightning steps none under manual optimization)."""
        trainable = [parameter for parameter in self.parameters() if parameter.requires_grad]
        optimizer = self.optimizer_factory(params=trainable)
        if self.schedule is None:
            return optimizer
        total_steps = total_epochs = 0
        if self.schedule.length_argument is not None:
            total_steps, total_epochs = self.planned_steps_and_epochs()
        schedule = self.schedule.lightning_config(optimizer, total_steps, total_epochs)
        return {"optimizer": optimizer, "lr_scheduler": schedule}

    def planned_steps_and_epochs(self) -> tuple[int, int]:
        """Optimizer steps and epochs the fit will take, as ``trainer.estimated_stepping_batches`` counts
        them but in batches (the loader's groups are not steps) and with the module's accumulation."""
        trainer = self.trainer
        trainer.estimated_stepping_batches  # noqa: B018 -- loads the training data if not yet loaded
        batches = getattr(trainer.train_dataloader, "num_batches", trainer.num_training_batches)
        epochs = max(trainer.max_epochs or 1, 1)
        steps = math.ceil(batches / self.gradients.accumulate_grad_batches) * epochs
        if trainer.max_steps != -1:
            steps = min(steps, trainer.max_steps)
        return steps, epochs
