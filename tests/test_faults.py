"""A diverging loss, a kill signal or a crash during a save never costs the run its last good checkpoint."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import lightning as L
import pytest
import torch

from conftest import PROJECT_ROOT, train_until_interrupted
from torch_lessons.assembly import build_trainer
from torch_lessons.checkpoints import atomic_io as checkpoint_io
from torch_lessons.checkpoints.atomic_io import AtomicCheckpointIO
from torch_lessons.errors import TrainingFault, exit_on_config_error
from torch_lessons.training import train


class SendSignalAt(L.Callback):
    """Sends ``signal_name`` to this process after training step ``step``, as ``kill`` or Ctrl+C would."""

    def __init__(self, step: int, signal_name: str) -> None:
        self.step = step
        self.signal = getattr(signal, signal_name)

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_index) -> None:
        if trainer.global_step == self.step:
            os.kill(os.getpid(), self.signal)


class SendSigintWhenTesting(L.Callback):
    """Presses Ctrl+C once fitting is over and the best checkpoint is being tested; keeps the bytes
    ``last.ckpt`` had at that moment in ``files_before_test``."""

    files_before_test: dict[Path, bytes] = {}

    def on_test_start(self, trainer, module) -> None:
        last = Path(trainer.checkpoint_callback.dirpath) / "last.ckpt"
        self.files_before_test[last] = last.read_bytes()
        os.kill(os.getpid(), signal.SIGINT)


def test_non_finite_loss_stops_with_step_value_and_cause(compose_config) -> None:
    """The issue's example: fruit_yield at lr 1 overflows in its second epoch; epoch 0's checkpoint stays."""
    cfg = compose_config("train", ["task=fruit_yield", "optimizer.lr=1", "logger=none"])
    checkpoints = Path(cfg.paths.output_dir) / "checkpoints"
    with pytest.raises(
        TrainingFault,
        match=r"^loss became inf at step 5 \(epoch 1\); likely cause: a learning rate too large for this data "
        rf"\(optimizer.lr=1: try 10× smaller\), or nan/inf in the data; the last good checkpoint is kept: "
        rf"{checkpoints / 'last.ckpt'}$",
    ):
        train(cfg)
    last = torch.load(checkpoints / "last.ckpt", weights_only=True)
    assert last["epoch"] == 0 and last["global_step"] == 3
    assert all(torch.isfinite(tensor).all() for tensor in last["state_dict"].values())
    assert sorted(path.name for path in checkpoints.iterdir()) == ["epoch_000.ckpt", "last.ckpt"]


def test_training_fault_exits_non_zero_with_one_line() -> None:
    with pytest.raises(SystemExit, match="^error: loss became nan at step 7") as exit_info:
        with exit_on_config_error():
            raise TrainingFault("loss became nan at step 7 (epoch 2); ...")
    assert exit_info.value.code != 0


def test_checkpoint_writes_are_atomic(tmp_path: Path, monkeypatch) -> None:
    """A save that dies half-way leaves the previous file whole and no temporary file behind."""
    path = tmp_path / "last.ckpt"
    plugin = AtomicCheckpointIO()
    plugin.save_checkpoint({"epoch": 1}, path)

    def die_half_way(checkpoint, file) -> None:
        file.write(b"PK\x03\x04 half a checkpoint")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", die_half_way)
    with pytest.raises(KeyboardInterrupt):
        plugin.save_checkpoint({"epoch": 2}, path)
    monkeypatch.undo()
    assert torch.load(path, weights_only=True) == {"epoch": 1}
    assert [entry.name for entry in tmp_path.iterdir()] == ["last.ckpt"]
    plugin.save_checkpoint({"epoch": 2}, path)
    assert torch.load(path, weights_only=True) == {"epoch": 2}


def test_a_kill_before_the_rename_leaves_the_previous_file(tmp_path: Path, monkeypatch) -> None:
    """The new file is complete beside the target before the one step that replaces it."""
    path = tmp_path / "last.ckpt"
    plugin = AtomicCheckpointIO()
    plugin.save_checkpoint({"epoch": 1}, path)
    staged: list[Path] = []

    def killed_before_rename(source, target) -> None:
        staged.append(Path(source))
        assert torch.load(source, weights_only=True) == {"epoch": 2}
        raise KeyboardInterrupt

    monkeypatch.setattr(checkpoint_io.os, "replace", killed_before_rename)
    with pytest.raises(KeyboardInterrupt):
        plugin.save_checkpoint({"epoch": 2}, path)
    assert staged and staged[0].parent == tmp_path, "staged in the target's own dir, so the rename is atomic"
    assert torch.load(path, weights_only=True) == {"epoch": 1}
    assert [entry.name for entry in tmp_path.iterdir()] == ["last.ckpt"]


@pytest.mark.parametrize("trainer", ["default", "cpu", "ddp"])
def test_every_trainer_writes_checkpoints_atomically(compose_config, trainer: str) -> None:
    cfg = compose_config("train", ["task=least_squares", f"trainer={trainer}", "trainer.accelerator=cpu"])
    assert isinstance(build_trainer(cfg).strategy.checkpoint_io, AtomicCheckpointIO)


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGINT"])
def test_signal_saves_a_mid_epoch_checkpoint_and_says_how_to_resume(compose_config, capsys, signal_name) -> None:
    """least_squares has 3 batches per epoch: the signal after step 4 arrives in the middle of epoch 1
    (one batch per training_step call, so the run can stop between any two batches)."""
    cfg = compose_config(
        "train",
        [
            "task=least_squares",
            "trainer.max_epochs=50",
            "logger=none",
            "data.batches_per_group=1",
            f"+callbacks.signal._target_={__name__}.SendSignalAt",
            "+callbacks.signal.step=4",
            f"+callbacks.signal.signal_name={signal_name}",
        ],
    )
    run_dir = Path(cfg.paths.output_dir)
    exit_code = train_until_interrupted(cfg)
    # SIGTERM: a clean stop (status 0) the way a scheduler asks for one; Ctrl+C: Lightning's status 1
    assert exit_code in ((None, 0) if signal_name == "SIGTERM" else (1,))
    checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    step, epoch = checkpoint["global_step"], checkpoint["epoch"]
    assert epoch == 1 and step in (4, 5), (epoch, step)  # SIGINT stops at once, SIGTERM after the batch
    printed = capsys.readouterr().out
    assert f"Interrupted by {signal_name} at epoch 1, step {step}; saved {run_dir / 'checkpoints' / 'last.ckpt'}. " in (
        printed
    )
    (resume,) = [line.split("Resume with: ")[1] for line in printed.splitlines() if "Resume with: " in line]
    assert resume.startswith("python train.py ") and resume.endswith(f" ckpt_path={run_dir}")
    assert " task=least_squares trainer.max_epochs=50 logger=none " in resume
    assert "paths.output_dir=" not in resume


def test_sigterm_to_train_py_exits_cleanly(tmp_path: Path) -> None:
    """As a scheduler pre-empts a job: SIGTERM once the first checkpoint exists; status 0, no traceback."""
    command = [sys.executable, "train.py", "task=least_squares", "trainer.max_epochs=100000", "logger=none"]
    command += [f"paths.log_dir={tmp_path / 'outputs'}"]
    stdout_path, stderr_path = tmp_path / "stdout", tmp_path / "stderr"
    with stdout_path.open("w") as stdout, stderr_path.open("w") as stderr:
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, stdout=stdout, stderr=stderr)
        try:
            deadline = time.monotonic() + 120
            while not list(tmp_path.glob("outputs/runs/*/*/checkpoints/last.ckpt")):
                assert process.poll() is None and time.monotonic() < deadline, stderr_path.read_text()[-2000:]
                time.sleep(0.1)
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
        finally:
            process.kill()
    assert process.returncode == 0, stderr_path.read_text()[-2000:]
    assert "Traceback" not in stderr_path.read_text()
    (run_dir,) = tmp_path.glob("outputs/runs/*/*")
    (message,) = [line for line in stdout_path.read_text().splitlines() if line.startswith("Interrupted by SIGTERM")]
    assert message.endswith(f"ckpt_path={run_dir}")
    assert torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] > 0


def test_interrupt_while_testing_leaves_last_checkpoint_alone(compose_config, capsys) -> None:
    """During testing the module holds the best epoch's weights; they must not be saved as last.ckpt."""
    probe = f"+callbacks.probe._target_={__name__}.SendSigintWhenTesting"
    cfg = compose_config("train", ["task=least_squares", "trainer.max_epochs=3", "logger=none", probe])
    last = Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt"
    train_until_interrupted(cfg)
    assert last.read_bytes() == SendSigintWhenTesting.files_before_test[last]
    assert "Interrupted by" not in capsys.readouterr().out
