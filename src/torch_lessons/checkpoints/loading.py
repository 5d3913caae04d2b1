"""Reading a checkpoint safely, and the checks made before its weights are trusted."""

import pickle
from pathlib import Path
from typing import Any

import torch

from torch_lessons.errors import ConfigError

RUN_KEY = "lesson_run"


def load_checkpoint(path: str | Path, key: str = "ckpt_path") -> dict[str, Any]:
    """The checkpoint's contents, read on the CPU with torch's safe ``weights_only`` loader;
    ``key`` is the config key that named the file, for the error message."""
    checkpoint_path = Path(path)
    if not checkpoint_path.is_file():
        raise ConfigError(f"{key}={path}: no such file")
    try:
        checkpoint = torch.load(checkpoint_path, map_location="cpu", weights_only=True)
    except Exception as error:  # any failure to read a user's file means it is not a checkpoint we can trust
        raise ConfigError(
            f"{key}={path}: not a checkpoint torch can load safely ({load_failure(error)}); "
            "pass a .ckpt file written by train.py, e.g. <run dir>/checkpoints/last.ckpt"
        ) from None
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise ConfigError(f"{key}={path}: not a Lightning checkpoint (it has no state_dict)")
    return checkpoint


def load_failure(error: Exception) -> str:
    """torch.load's reason in a few words. Its weights-only error also advises retrying with
    ``weights_only=False``, which would run whatever code the file holds: that advice is left out."""
    if isinstance(error, pickle.UnpicklingError):
        detail = str(error).split("WeightsUnpickler error:", 1)[-1].strip().splitlines()
        return detail[0] if detail and "weights_only" not in detail[0] else "not a checkpoint"
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {first_line}" if first_line else type(error).__name__


def check_same_task(checkpoint: dict[str, Any], task_name: str, path: str | Path, key: str = "ckpt_path") -> None:
    """Refuses a checkpoint another task wrote, naming the overrides that would load it."""
    choices = checkpoint.get(RUN_KEY, {}).get("choices", {})
    trained_task = choices.get("task")
    if trained_task is not None and trained_task != task_name:
        overrides = " ".join(f"{group}={choices[group]}" for group in ("task", "model") if group in choices)
        raise ConfigError(
            f"{key}={path} was trained with task={trained_task}, not task={task_name}; use it with {overrides}"
        )


def check_weights_fit(
    module: torch.nn.Module, checkpoint: dict[str, Any], path: str | Path, key: str = "ckpt_path"
) -> None:
    """Names the first parameter whose name or shape differs, instead of a state-dict traceback."""
    expected = {name: tuple(tensor.shape) for name, tensor in module.state_dict().items()}
    found = {name: tuple(tensor.shape) for name, tensor in checkpoint["state_dict"].items()}
    problems = [f"{name} is not in the checkpoint" for name in expected if name not in found]
    problems += [f"{name} is not in the configured model" for name in found if name not in expected]
    problems += [
        f"{name} has shape {list(found[name])} there, {list(shape)} here"
        for name, shape in expected.items()
        if name in found and found[name] != shape
    ]
    if problems:
        trained_model = checkpoint.get(RUN_KEY, {}).get("choices", {}).get("model")
        hint = f"it was trained with model={trained_model}" if trained_model else "pass the model= used in training"
        raise ConfigError(f"{key}={path}: its weights do not fit the configured model ({problems[0]}); {hint}")
