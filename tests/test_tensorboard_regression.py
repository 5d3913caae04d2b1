"""Regression runs show predicted vs actual per output in TensorBoard; other loggers get no figures."""

from pathlib import Path

import lightning as L
from lightning.pytorch.loggers import TensorBoardLogger
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from torch_lessons.training import train


def test_fruit_yield_logs_predicted_vs_actual(compose_config) -> None:
    cfg = compose_config("train", ["task=fruit_yield", "trainer.max_epochs=2"])
    train(cfg)
    events = EventAccumulator(str(Path(cfg.paths.output_dir) / "tensorboard"), size_guidance={"images": 0})
    events.Reload()
    assert events.Tags()["images"] == ["test/predicted_vs_actual"]
    scalars = set(events.Tags()["scalars"])
    assert {"train/mse", "val/mse", "test/mse", "lr-SGD"} <= scalars
    assert {f"{stage}/mae_{fruit}" for stage in ("train", "val", "test") for fruit in ("apples", "oranges")} <= scalars
    apples, oranges, both = (events.Scalars(f"test/mae{name}")[-1].value for name in ("_apples", "_oranges", ""))
    assert abs((apples + oranges) / 2 - both) < 1e-3 * both


def test_figures_need_no_tensorboard(compose_config) -> None:
    cfg = compose_config("train", ["task=fruit_yield", "trainer.max_epochs=1", "logger=csv"])
    metrics = train(cfg)
    assert "test/mse" in metrics
    assert not (Path(cfg.paths.output_dir) / "tensorboard").exists()


class KeepLoggers(L.Callback):
    loggers: list = []

    def on_fit_start(self, trainer, module) -> None:
        KeepLoggers.loggers = list(trainer.loggers)


def test_hparams_writer_is_closed_when_train_returns(compose_config) -> None:
    """The HParams summary is written last, after Lightning closed its writers at the end of testing,
    so the logger opens a new writer for it. Unless that one is closed too, its events wait in a daemon
    thread's queue, and a process that ends first loses them: the flaky test_scripts.py failure
    ``KeyError: '_hparams_/session_start_info'`` (the run's third event file cut short)."""
    probe = f"+callbacks.probe._target_={__name__}.KeepLoggers"
    cfg = compose_config("train", ["task=least_squares", "trainer.max_epochs=1", probe])
    train(cfg)
    (logger,) = KeepLoggers.loggers
    assert isinstance(logger, TensorBoardLogger) and logger.experiment.file_writer is None, "every writer closed"
    events = EventAccumulator(str(Path(cfg.paths.output_dir) / "tensorboard"))
    events.Reload()
    tags = set(events.PluginTagToContent("hparams"))
    assert tags == {"_hparams_/experiment", "_hparams_/session_start_info", "_hparams_/session_end_info"}
    assert events.Scalars("hp/epochs")[-1].value == 1
