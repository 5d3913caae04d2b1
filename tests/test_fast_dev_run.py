"""Every task runs end to end with every optimizer and every loss that fits it (one batch each)."""

import math

import pytest

from conftest import task_losses
from torch_lessons.training import train

OPTIMIZERS = ["sgd", "adam", "adamw"]
TASK_OPTIMIZER_LOSS = [
    (task, optimizer, loss) for task, losses in task_losses().items() for optimizer in OPTIMIZERS for loss in losses
]


def assert_finite_test_metrics(metrics: dict[str, float]) -> None:
    test_metrics = {name: value for name, value in metrics.items() if name.startswith("test/")}
    assert "test/loss" in test_metrics
    assert all(math.isfinite(value) for value in test_metrics.values()), test_metrics


@pytest.mark.parametrize(("task", "optimizer", "loss"), TASK_OPTIMIZER_LOSS)
def test_task_optimizer_loss(compose_config, task: str, optimizer: str, loss: str) -> None:
    cfg = compose_config("train", [f"task={task}", f"optimizer={optimizer}", f"loss={loss}", "debug=fast_dev_run"])
    metrics = train(cfg)
    assert_finite_test_metrics(metrics)
    if cfg.module._target_.endswith("ClassificationModule"):
        assert 0.0 <= metrics["test/acc"] <= 1.0


@pytest.mark.parametrize(
    ("task", "model"),
    [
        ("fashion_mnist", "small_cnn"),
        ("least_squares", "scalar"),
        ("least_squares", "linear"),
        ("least_squares", "mlp_1_2_1"),
        ("fruit_yield", "linear"),
        ("fruit_yield", "mlp_1_2_1"),
    ],
)
def test_other_models(compose_config, task: str, model: str) -> None:
    metrics = train(compose_config("train", [f"task={task}", f"model={model}", "debug=fast_dev_run"]))
    assert_finite_test_metrics(metrics)


@pytest.mark.parametrize("overrides", [["logger=csv"], ["logger=none"], ["trainer=cpu"], ["seed=null"]])
def test_other_choices(compose_config, overrides: list[str]) -> None:
    metrics = train(compose_config("train", ["task=least_squares", "debug=fast_dev_run", *overrides]))
    assert_finite_test_metrics(metrics)


def test_seed_zero_is_applied(compose_config) -> None:
    """``seed=0`` must seed the run (a plain truthiness test would skip it): equal seeds, equal results."""
    first = train(compose_config("train", ["task=least_squares", "debug=fast_dev_run", "seed=0"]))
    second = train(compose_config("train", ["task=least_squares", "debug=fast_dev_run", "seed=0"]))
    third = train(compose_config("train", ["task=least_squares", "debug=fast_dev_run", "seed=1"]))
    assert first == second
    assert first != third
