"""Callbacks that keep a run's work when it goes wrong: a loss that stops being finite, a kill signal.

Lightning's own ``OnExceptionCheckpoint`` (and ``ModelCheckpoint(save_on_exception=True)``) save on
*any* exception, including a diverged loss, which would write the very weights that broke. These
callbacks tell the two cases apart: a non-finite loss stops the run before anything trained from
its group of batches on is saved; an interruption saves the current state so the run can be resumed.
"""

import shlex
from pathlib import Path
from typing import Any

import lightning as L
import torch
from hydra.core.hydra_config import HydraConfig
from lightning.pytorch.trainer.states import TrainerFn
from lightning.pytorch.utilities.exceptions import SIGTERMException

from torch_lessons.errors import TrainingFault


class StopOnNonFiniteLoss(L.Callback):
    """Stops the run at the first training batch whose loss is nan or inf, naming its optimizer step,
    the value and the likely cause; nothing trained from that group of batches on is saved.

    The losses are read from the device once per group of batches (``on_train_batch_end``), not at
    every step, so the host never waits for the device mid-group; and once more before any
    checkpoint is written inside a group (``on_save_checkpoint``), which then is not written. The
    checkpoints already written (the last good epoch's ``last.ckpt`` and the best one) are left as
    they are. Under DDP the decision is shared by all ranks, so none waits forever for the others.
    The module provides ``group_losses`` (the group's batch losses so far, on the device) and
    ``group_steps`` (the optimizer step each batch belongs to), as ``LessonModule`` does.
    """

    def on_train_batch_end(self, trainer: L.Trainer, module: L.LightningModule, *args: Any) -> None:
        self.check(trainer, module)

    def on_save_checkpoint(self, trainer: L.Trainer, module: L.LightningModule, checkpoint: dict) -> None:
        if trainer.training:
            self.check(trainer, module)

    def check(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        losses: list[torch.Tensor] = getattr(module, "group_losses", [])
        finite = torch.isfinite(torch.stack(losses).detach().float()) if losses else None
        non_finite = finite is not None and not bool(finite.all())
        if not trainer.strategy.reduce_boolean_decision(non_finite, all=False):
            return
        step, value = "?", "nan or inf on another rank"
        if non_finite:
            first_bad = int((~finite).nonzero()[0, 0])
            step, value = module.group_steps[first_bad], losses[first_bad].float().item()
        raise TrainingFault(
            f"loss became {value} at step {step} (epoch {trainer.current_epoch}); "
            f"likely cause: {likely_cause(trainer)}; {kept_checkpoint(trainer)}"
        )


def likely_cause(trainer: L.Trainer) -> str:
    learning_rates = sorted({group["lr"] for optimizer in trainer.optimizers for group in optimizer.param_groups})
    rates = ", ".join(f"{rate:g}" for rate in learning_rates)
    return f"a learning rate too large for this data (optimizer.lr={rates}: try 10× smaller), or nan/inf in the data"


def kept_checkpoint(trainer: L.Trainer) -> str:
    callback = trainer.checkpoint_callback
    saved = (callback.last_model_path or callback.best_model_path) if callback else ""
    if saved and Path(saved).is_file():
        return f"the last good checkpoint is kept: {saved}"
    return "no checkpoint had been saved yet"


class CheckpointOnInterrupt(L.Callback):
    """On SIGTERM (a scheduler's pre-emption, ``kill``) or SIGINT (Ctrl+C) saves the current state,
    mid-epoch included, to ``<dirpath>/last.ckpt`` and says how to resume.

    Lightning notices SIGTERM by itself only at epoch ends (or every step under DDP, where it also
    tells all ranks); in a single process this callback checks after every batch so an epoch of
    Fashion-MNIST does not have to finish first. The file is written through the trainer's
    CheckpointIO plugin, i.e. atomically.
    """

    def __init__(self, dirpath: str, filename: str = "last.ckpt") -> None:
        self.path = Path(dirpath) / filename

    def on_train_batch_end(
        self, trainer: L.Trainer, module: L.LightningModule, outputs: Any, batch: Any, batch_index: int
    ) -> None:
        if trainer.received_sigterm and trainer.world_size == 1:
            raise SIGTERMException()

    def on_exception(self, trainer: L.Trainer, module: L.LightningModule, exception: BaseException) -> None:
        if not isinstance(exception, KeyboardInterrupt | SIGTERMException) or trainer.state.fn != TrainerFn.FITTING:
            return  # while testing, the module holds the best epoch's weights: last.ckpt must not get them
        signal_name = "SIGINT" if isinstance(exception, KeyboardInterrupt) else "SIGTERM"
        trainer.save_checkpoint(self.path, weights_only=False)
        if trainer.is_global_zero:
            print(
                f"Interrupted by {signal_name} at epoch {trainer.current_epoch}, step {trainer.global_step}; "
                f"saved {self.path}. Resume with: {resume_command(self.path)}",
                flush=True,
            )


# Overrides a resumed run must not repeat: it gets its own new run dir and its own ckpt_path.
NOT_REPEATED = ("ckpt_path=", "hydra.run.dir=", "hydra.sweep.dir=", "paths.output_dir=")


def resume_command(checkpoint: Path) -> str:
    """``python train.py <the run's own overrides> ckpt_path=<run dir>`` (or the file itself when
    it is not a run dir's ``checkpoints/last.ckpt``)."""
    overrides: list[str] = []
    if HydraConfig.initialized():
        overrides = [item for item in HydraConfig.get().overrides.task if not item.startswith(NOT_REPEATED)]
    in_run_dir = checkpoint.name == "last.ckpt" and checkpoint.parent.name == "checkpoints"
    target = checkpoint.parent.parent if in_run_dir else checkpoint
    return shlex.join(["python", "train.py", *overrides, f"ckpt_path={target}"])
