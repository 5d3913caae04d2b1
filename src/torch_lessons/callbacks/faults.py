"""Callbacks that keep a run's work when it goes wrong: a loss that stops being finite, a kill signal.

Lightning's own ``OnExceptionCheckpoint`` (and ``ModelCheckpoint(save_on_exception=True)``) save on
*any* exception, including a diverged loss, which would write the very weights that broke. These
callbacks tell the two cases apart: a non-finite loss stops the run before anything trained from
its group of batches on is saved; an interruption saves the current state so the run can be resumed.
"""

import re
import shlex
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import lightning as L
import torch
from hydra.core.hydra_config import HydraConfig
from lightning.pytorch.callbacks import Checkpoint
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
    """The newest checkpoint file any ModelCheckpoint wrote (``last.ckpt`` after an epoch end)."""
    saved = [Path(path) for callback in trainer.checkpoint_callbacks for path in saved_paths(callback) if path]
    newest = max((path for path in saved if path.is_file()), key=lambda path: path.stat().st_mtime_ns, default=None)
    if newest is not None:
        return f"the last good checkpoint is kept: {newest}"
    return "no checkpoint had been saved yet"


def saved_paths(callback: L.Callback) -> tuple[str, ...]:
    return (getattr(callback, "last_model_path", ""), getattr(callback, "best_model_path", ""))


class CheckpointOnInterrupt(Checkpoint):
    """On SIGTERM (a scheduler's pre-emption, ``kill``) or SIGINT (Ctrl+C) saves the current state,
    mid-epoch included, to ``<dirpath>/last.ckpt`` and says how to resume.

    SIGTERM only sets a flag here. Lightning's own handler broadcasts to the other ranks from inside
    the signal handler, i.e. in the middle of whatever collective the rank was in, and its loops act
    on each rank's own copy of the flag: under DDP that hung 3 runs in 9. Instead, after every training
    batch (or group of batches) the ranks agree on the flag with one all-reduce, outside any handler,
    so all of them stop after the same step and the checkpoint is written once, by rank 0, through
    the strategy's CheckpointIO plugin (atomically). In one process the "all-reduce" is the flag
    itself. A SIGTERM while testing only lets the test finish: the run ends right after it.

    A ``Checkpoint`` callback, so Lightning runs its hooks after the other callbacks': a signal that
    arrives while any of them handles a batch still stops the run after that batch.
    """

    def __init__(self, dirpath: str, filename: str = "last.ckpt") -> None:
        self.path = Path(dirpath) / filename
        self.sigterm_received = False
        self.handler_before_lightning: Any = None

    def setup(self, trainer: L.Trainer, module: L.LightningModule, stage: str) -> None:
        """Runs before Lightning installs its SIGTERM handler, so the one found here is the user's (or
        a launcher's, e.g. submitit's), which ``note_sigterm`` still calls."""
        self.sigterm_received = False
        self.handler_before_lightning = signal.getsignal(signal.SIGTERM)

    def take_over_sigterm(self, *_: Any) -> None:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self.note_sigterm)  # Lightning restores the earlier one at teardown

    on_sanity_check_start = on_train_start = on_test_start = take_over_sigterm

    def note_sigterm(self, signum: int, frame: FrameType | None) -> None:
        self.sigterm_received = True
        if callable(self.handler_before_lightning):
            self.handler_before_lightning(signum, frame)

    def on_train_batch_end(
        self, trainer: L.Trainer, module: L.LightningModule, outputs: Any, batch: Any, batch_index: int
    ) -> None:
        if trainer.strategy.reduce_boolean_decision(self.sigterm_received, all=False):
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
    return shlex.join(["python", "train.py", *overrides, f"ckpt_path={override_value(str(target))}"])


def override_value(text: str) -> str:
    """``text`` as a Hydra override value: quoted when it holds characters of the override grammar, as
    a sweep job's dir does (``0_optimizer=adam,task=least_squares``): unquoted, Hydra refuses it."""
    if not re.search(r"[=,:\s\[\]{}()'\"]", text):
        return text
    quote = "'" if "'" not in text else '"'
    return quote + text.replace(quote, "\\" + quote) + quote
