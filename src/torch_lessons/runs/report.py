"""What a run tells the user about itself: the test line and the hyper-parameters for TensorBoard."""

from collections.abc import Mapping
from typing import Any

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from torch_lessons.modules.lesson import EPOCH_AXIS, STEP_AXIS


def scalar_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    """Plain floats from Lightning's metric dicts (tensors or numbers), without the ``step`` and
    ``epoch`` the module logs only to place its epoch metrics on the loggers' axes."""
    return {name: float(value) for name, value in metrics.items() if name not in (STEP_AXIS, EPOCH_AXIS)}


def format_stage_metrics(metrics: Mapping[str, float], stage: str) -> str:
    """``Accuracy: 84.2%, Avg loss: 0.443315`` as the Quickstart prints; the stage's other metrics after."""
    accuracy, loss = f"{stage}/acc", f"{stage}/loss"
    parts = []
    if accuracy in metrics:
        parts.append(f"Accuracy: {100 * metrics[accuracy]:.1f}%")
    if loss in metrics:
        parts.append(f"Avg loss: {metrics[loss]:.6f}")
    for name, value in sorted(metrics.items()):
        if name.startswith(f"{stage}/") and name not in (accuracy, loss):
            parts.append(f"{name.removeprefix(f'{stage}/')}: {value:.6f}")
    return ", ".join(parts)


def format_test_line(metrics: Mapping[str, float]) -> str:
    return "Test: " + format_stage_metrics(metrics, "test")


# Config keys run_hyperparameters already shows under a short name (lr, batch_size, max_epochs).
SHOWN_AS_SHORT_NAMES = ("optimizer.lr", "data.batch_size", "trainer.max_epochs")


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
    params.update(command_line_values(cfg))
    return {name: ("none" if value is None else value) for name, value in params.items()}


def command_line_values(cfg: DictConfig) -> dict[str, Any]:
    """Other plain values set on the command line (e.g. ``optimizer.weight_decay=0.1``), so that
    whatever a sweep varies shows up in the HParams tab too; paths are left out."""
    values = {}
    for override in HydraConfig.get().overrides.task:
        key = override.split("=", 1)[0].lstrip("+~")
        if key.startswith("paths.") or "." not in key or key in SHOWN_AS_SHORT_NAMES:
            continue
        value = OmegaConf.select(cfg, key, default=None)
        if isinstance(value, bool | int | float | str):
            values[key] = value
    return values
