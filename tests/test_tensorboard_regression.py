"""Regression runs show predicted vs actual per output in TensorBoard; other loggers get no figures."""

from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from torch_lessons.training import train


def test_fruit_yield_logs_predicted_vs_actual(compose_config) -> None:
    cfg = compose_config("train", ["task=fruit_yield", "trainer.max_epochs=2"])
    train(cfg)
    events = EventAccumulator(str(Path(cfg.paths.output_dir) / "tensorboard"), size_guidance={"images": 0})
    events.Reload()
    assert events.Tags()["images"] == ["test/predicted_vs_actual"]
    scalars = set(events.Tags()["scalars"])
    assert {"train/mse", "val/mse", "test/mse", "train/lr"} <= scalars
    assert {f"{stage}/mae_{fruit}" for stage in ("train", "val", "test") for fruit in ("apples", "oranges")} <= scalars
    apples, oranges, both = (events.Scalars(f"test/mae{name}")[-1].value for name in ("_apples", "_oranges", ""))
    assert abs((apples + oranges) / 2 - both) < 1e-3 * both


def test_figures_need_no_tensorboard(compose_config) -> None:
    cfg = compose_config("train", ["task=fruit_yield", "trainer.max_epochs=1", "logger=csv"])
    metrics = train(cfg)
    assert "test/mse" in metrics
    assert not (Path(cfg.paths.output_dir) / "tensorboard").exists()
