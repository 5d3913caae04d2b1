"""``ckpt_path=last|<run dir>|<file>`` continues a run in a new run dir; bad ones are refused before training."""

import csv
import hashlib
import os
import shutil
from pathlib import Path

import lightning as L
import pytest
import torch
from test_faults import SendSignalAt

from conftest import assert_same_weights
from torch_lessons.checkpoints.resume import latest_last_checkpoint
from torch_lessons.errors import ConfigError
from torch_lessons.training import train


def file_digests(directory: Path) -> dict[str, str]:
    return {
        str(path.relative_to(directory)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def finished_run(compose_config) -> Path:
    """Two epochs of least_squares with Adam (3 steps per epoch); returns its run dir."""
    cfg = compose_config("train", ["task=least_squares", "optimizer=adam", "trainer.max_epochs=2", "logger=csv"])
    train(cfg)
    return Path(cfg.paths.output_dir)


@pytest.mark.parametrize("form", ["run_dir", "file", "last"])
def test_resume_continues_epochs_and_optimizer_state(compose_config, finished_run: Path, form: str) -> None:
    before = file_digests(finished_run)
    value = {"run_dir": finished_run, "file": finished_run / "checkpoints" / "last.ckpt", "last": "last"}[form]
    overrides = ["task=least_squares", "optimizer=adam", "trainer.max_epochs=3", "logger=csv", f"ckpt_path={value}"]
    if form == "last":
        overrides.append(f"paths.log_dir={finished_run.parent}")  # the fixture's runs live there
    cfg = compose_config("train", overrides)
    train(cfg)
    resumed = torch.load(Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt", weights_only=True)
    assert (resumed["epoch"], resumed["global_step"]) == (2, 9)
    ((adam_state),) = resumed["optimizer_states"][0]["state"].values()
    assert int(adam_state["step"]) == 9, "Adam's step count (and moments) continue from the checkpoint"
    with (Path(cfg.paths.output_dir) / "csv" / "metrics.csv").open() as metrics_file:
        trained = [(float(row["epoch"]), int(row["step"])) for row in csv.DictReader(metrics_file) if row["train/loss"]]
    assert trained == [(2, 9)], "only epoch 2 is trained in the new run; logged at optimizer step 9, not call 3"
    assert file_digests(finished_run) == before, "the resumed run's dir is only read"


def test_last_is_the_newest_run(tmp_path: Path, finished_run: Path) -> None:
    older, newer = tmp_path / "logs/runs/a/checkpoints", tmp_path / "logs/multirun/b/0/checkpoints"
    for directory, mtime in ((older, 1_000_000), (newer, 2_000_000)):
        directory.mkdir(parents=True)
        shutil.copy(finished_run / "checkpoints" / "last.ckpt", directory / "last.ckpt")
        os.utime(directory / "last.ckpt", (mtime, mtime))
    other_task = tmp_path / "logs/runs/c/checkpoints"  # the newest file, but another task's run
    other_task.mkdir(parents=True)
    checkpoint = torch.load(finished_run / "checkpoints" / "last.ckpt", weights_only=True)
    checkpoint["lesson_run"]["choices"]["task"] = "fruit_yield"
    torch.save(checkpoint, other_task / "last.ckpt")
    assert latest_last_checkpoint(tmp_path / "logs", "least_squares") == newer / "last.ckpt"
    assert latest_last_checkpoint(tmp_path / "logs", "fruit_yield") == other_task / "last.ckpt"
    assert latest_last_checkpoint(tmp_path / "logs", "fashion_mnist") is None


@pytest.mark.parametrize(
    ("ckpt_path", "message"),
    [
        ("{tmp}/missing.ckpt", r"^ckpt_path={tmp}/missing.ckpt: no such file$"),
        (
            "{tmp}",
            r"^ckpt_path={tmp}: this directory has no checkpoints/last.ckpt; give a run dir or a .ckpt file "
            r"\(.ckpt files in it: {tmp}/corrupt.ckpt\)$",
        ),
        ("{tmp}/corrupt.ckpt", r"^ckpt_path={tmp}/corrupt.ckpt: not a checkpoint torch can load safely \("),
        ("last", r"^ckpt_path=last: no run of task=least_squares below paths.log_dir=.* has a checkpoints/last.ckpt$"),
    ],
)
def test_bad_ckpt_path_is_refused_before_training(compose_config, tmp_path: Path, ckpt_path: str, message: str):
    (tmp_path / "corrupt.ckpt").write_bytes(b"\x80\x02 truncated")
    cfg = compose_config("train", ["task=least_squares", f"ckpt_path={ckpt_path.format(tmp=tmp_path)}"])
    with pytest.raises(ConfigError, match=message.format(tmp=tmp_path)):
        train(cfg)
    assert not Path(cfg.paths.output_dir).exists(), "nothing was built or written"


def test_another_tasks_checkpoint_is_refused(compose_config, finished_run: Path) -> None:
    cfg = compose_config("train", ["task=fruit_yield", f"ckpt_path={finished_run}"])
    with pytest.raises(
        ConfigError, match=rf"^ckpt_path={finished_run} was trained with task=least_squares, not task=fruit_yield; "
    ):
        train(cfg)


def test_another_models_checkpoint_is_refused(compose_config, finished_run: Path) -> None:
    overrides = ["task=least_squares", "model=linear", "optimizer=adam", "trainer.max_epochs=3"]
    cfg = compose_config("train", [*overrides, f"ckpt_path={finished_run}"])
    with pytest.raises(ConfigError, match=r"its weights do not fit the configured model \(net.weight is not in"):
        train(cfg)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            ["optimizer=sgd", "trainer.max_epochs=3"],
            " was trained with optimizer=adam, not optimizer=sgd; "
            r"resume with optimizer=adam \(or start a new run from its weights with model.init_from\)$",
        ),
        (
            ["optimizer=adam", "trainer.max_epochs=2"],
            r": the run already trained 2 epochs, trainer.max_epochs=2; raise trainer.max_epochs to train further$",
        ),
    ],
    ids=["another optimizer", "already finished"],
)
def test_resume_that_cannot_continue_is_refused(
    compose_config, finished_run: Path, overrides: list[str], message: str
) -> None:
    cfg = compose_config("train", ["task=least_squares", *overrides, f"ckpt_path={finished_run}"])
    with pytest.raises(ConfigError, match=rf"^ckpt_path={finished_run}{message}"):
        train(cfg)


def test_sigterm_mid_epoch_then_resume_matches_the_uninterrupted_run(compose_config) -> None:
    """SIGTERM after step 4 (3 batches per epoch: one batch into epoch 1) checkpoints the in-memory
    loader's position; resuming from the run dir ends on the uninterrupted run's exact weights.
    One batch per training_step call, so the run can stop between any two batches."""
    overrides = ["task=fruit_yield", "optimizer=adam", "optimizer.lr=0.01", "trainer.max_epochs=3", "logger=none"]
    straight = compose_config("train", overrides)
    overrides.append("data.batches_per_group=1")
    train(straight)
    interrupt = [f"+callbacks.signal._target_={SendSignalAt.__module__}.SendSignalAt", "+callbacks.signal.step=4"]
    interrupted = compose_config("train", [*overrides, *interrupt, "+callbacks.signal.signal_name=SIGTERM"])
    with pytest.raises(SystemExit):
        train(interrupted)
    saved = torch.load(Path(interrupted.paths.output_dir) / "checkpoints" / "last.ckpt", weights_only=True)
    assert saved["loops"]["fit_loop"]["state_dict"]["combined_loader"] == [{"epoch": 1, "batches_done": 1}]
    resumed = compose_config("train", [*overrides, f"ckpt_path={interrupted.paths.output_dir}"])
    train(resumed)

    def last_weights(cfg) -> dict[str, torch.Tensor]:
        return torch.load(Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]

    final, expected = last_weights(resumed), last_weights(straight)
    assert all(torch.equal(final[name], expected[name]) for name in expected)


class KeepFinalWeights(L.Callback):
    """Keeps the weights and counters at the end of fitting (before testing loads the best epoch)."""

    final: dict = {}

    def on_train_end(self, trainer, module) -> None:
        weights = {name: tensor.detach().clone() for name, tensor in module.state_dict().items()}
        KeepFinalWeights.final = {"epoch": trainer.current_epoch, "step": trainer.global_step, "weights": weights}


def test_last_checkpoint_is_the_last_epoch_when_the_loss_stops_improving(compose_config) -> None:
    """The least-squares lesson's val loss goes down, up and down again (its best epoch is 6 of 10):
    last.ckpt is still epoch 9's state, and resuming that finished run is refused."""
    probe = f"+callbacks.probe._target_={__name__}.KeepFinalWeights"
    cfg = compose_config("train", ["experiment=least_squares", "logger=csv", probe])
    train(cfg)
    run_dir = Path(cfg.paths.output_dir)
    with (run_dir / "csv" / "metrics.csv").open() as metrics_file:
        val_losses = [float(row["val/loss"]) for row in csv.DictReader(metrics_file) if row["val/loss"]]
    best_epoch = val_losses.index(min(val_losses))
    assert len(val_losses) == 10 and best_epoch < 9 and val_losses[best_epoch + 1] > val_losses[best_epoch]
    after_best = val_losses[best_epoch + 1 :]
    assert any(later < earlier for earlier, later in zip(after_best, after_best[1:], strict=False)), "down again"
    last = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    final = KeepFinalWeights.final
    assert (last["epoch"], last["global_step"]) == (final["epoch"] - 1, final["step"]) == (9, 30)
    assert_same_weights(last["state_dict"], final["weights"])
    assert (run_dir / "checkpoints" / f"epoch_{best_epoch:03d}.ckpt").is_file()

    finished = compose_config("train", ["experiment=least_squares", f"ckpt_path={run_dir}"])
    with pytest.raises(ConfigError, match=rf"^ckpt_path={run_dir}: the run already trained 10 epochs, "):
        train(finished)
    longer = compose_config("train", ["experiment=least_squares", "trainer.max_epochs=11", f"ckpt_path={run_dir}"])
    train(longer)
    resumed = torch.load(Path(longer.paths.output_dir) / "checkpoints" / "last.ckpt", weights_only=True)
    assert (resumed["epoch"], resumed["global_step"]) == (10, 33), "one more epoch after epoch 9, not after the best"
