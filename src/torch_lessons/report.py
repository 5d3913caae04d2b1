"""What a run tells the user about itself: the test line and the hyper-parameters for TensorBoard."""

from collections.abc import Mapping
from typing import Any

from omegaconf import DictConfig


def scalar_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    """Plain floats from Lightning's metric dicts (tensors or numbers)."""
    return {name: float(value) for name, value in metrics.items()}


def format_test_line(metrics: Mapping[str, float]) -> str:
    """``Test: Accuracy: 84.2%, Avg loss: 0.443315`` as the Quickstart prints; other metrics after."""
    parts = []
    if "test/acc" in metrics:
        parts.append(f"Accuracy: {100 * metrics['test/acc']:.1f}%")
    if "test/loss" in metrics:
        parts.append(f"Avg loss: {metrics['test/loss']:.6f}")
    for name, value in sorted(metrics.items()):
        if name.startswith("test/") and name not in ("test/acc", "test/loss"):
            parts.append(f"{name.removeprefix('test/')}: {value:.6f}")
    return "Test: " + ", ".join(parts)


def run_hyperparameters(cfg: DictConfig, choices: Mapping[str, str]) -> dict[str, Any]:
    """The knobs a sweep turns, as plain values TensorBoard's HParams tab can show."""
    params = {
        "task": cfg.task.name,
        "model": choices.get("model"),
        "loss": choices.get("loss"),
        "optimizer": choices.get("optimizer"),
        "lr": cfg.optimizer.get("lr"),
        "batch_size": cfg.data.get("batch_size"),
        "max_epochs": cfg.trainer.get("max_epochs"),
        "seed": cfg.get("seed"),
    }
    return {name: ("none" if value is None else value) for name, value in params.items()}
