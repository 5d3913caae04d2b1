"""``ckpt_path``: which checkpoint a run continues from, checked before anything is built.

``ckpt_path=last`` is the newest ``checkpoints/last.ckpt`` under ``paths.log_dir`` (the latest run),
``ckpt_path=<run dir>`` that run's ``checkpoints/last.ckpt``, anything else a checkpoint file.
Lightning then restores weights, optimizer state, epoch and step counters, callbacks and any
data loader that has ``state_dict()``/``load_state_dict()``. The new run writes into its own new
run dir; the old run's files are only read.
"""

from pathlib import Path
from typing import Any

import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from torch_lessons.checkpoints.loading import RUN_KEY, check_same_task, load_checkpoint
from torch_lessons.errors import ConfigError

LAST = "checkpoints/last.ckpt"


def trained_task(checkpoint: Path) -> str | None:
    """The task a checkpoint was trained for, from the run record it carries (None if unreadable)."""
    try:
        contents = torch.load(checkpoint, map_location="cpu", weights_only=True, mmap=True)
    except Exception:  # a broken candidate is not one to resume automatically
        return None
    return contents.get(RUN_KEY, {}).get("choices", {}).get("task") if isinstance(contents, dict) else None


def latest_last_checkpoint(log_dir: Path, task_name: str) -> Path | None:
    """The most recently written ``checkpoints/last.ckpt`` of a run or sweep job of ``task_name`` below ``log_dir``."""
    candidates = [path for path in log_dir.rglob("last.ckpt") if path.parent.name == "checkpoints"]
    newest_first = sorted(candidates, key=lambda path: path.stat().st_mtime, reverse=True)
    return next((path for path in newest_first if trained_task(path) == task_name), None)


def checkpoint_file(value: str, log_dir: Path, task_name: str) -> Path:
    """The checkpoint file that ``ckpt_path`` names: ``last`` (the newest run of this task), a run dir
    (its ``checkpoints/last.ckpt``) or a file."""
    if value == "last":
        found = latest_last_checkpoint(log_dir, task_name)
        if found is None:
            raise ConfigError(f"ckpt_path=last: no run of task={task_name} below paths.log_dir={log_dir} has a {LAST}")
        return found
    path = Path(value)
    if path.is_dir():
        if not (path / LAST).is_file():
            files = sorted(path.glob("*.ckpt")) + sorted(path.glob("checkpoints/*.ckpt"))
            found = ", ".join(str(file) for file in files[:3]) or "none"
            raise ConfigError(
                f"ckpt_path={value}: this directory has no {LAST}; give a run dir or a .ckpt file "
                f"(.ckpt files in it: {found})"
            )
        return path / LAST
    return path


def completed_epochs(checkpoint: dict[str, Any]) -> int:
    """Epochs whose training batches all ran. Lightning saves end-of-epoch checkpoints before it
    counts the epoch as ``completed``, so ``processed`` is the count that matches the files."""
    return int(checkpoint["loops"]["fit_loop"]["epoch_progress"]["current"]["processed"])


def check_same_optimizer(checkpoint: dict[str, Any], value: str) -> None:
    """Another optimizer's saved state would fail deep inside ``load_state_dict`` or the first step."""
    trained = checkpoint.get(RUN_KEY, {}).get("choices", {}).get("optimizer")
    chosen = HydraConfig.get().runtime.choices.get("optimizer")
    if trained is not None and trained != chosen:
        raise ConfigError(
            f"ckpt_path={value} was trained with optimizer={trained}, not optimizer={chosen}; resume with "
            f"optimizer={trained} (or start a new run from its weights with model.init_from)"
        )


def resolve_resume(cfg: DictConfig) -> tuple[str, dict[str, Any]] | None:
    """The checkpoint file to resume from and its contents, or None for a fresh run.

    Refuses, in one line, a missing or unreadable file, another task's or optimizer's checkpoint
    and one that already reached ``trainer.max_epochs`` (Lightning would silently train nothing).
    """
    value = cfg.get("ckpt_path")
    if value is None:
        return None
    path = checkpoint_file(str(value), Path(cfg.paths.log_dir), cfg.task.name)
    if value == "last":
        value = f"last ({path})"  # the refusals below name the file that "last" found
    checkpoint = load_checkpoint(path)
    check_same_task(checkpoint, cfg.task.name, value)
    check_same_optimizer(checkpoint, value)
    if "loops" not in checkpoint:
        raise ConfigError(f"ckpt_path={value}: {path} holds weights only, no training state to resume")
    done, max_epochs = completed_epochs(checkpoint), cfg.trainer.get("max_epochs")
    if max_epochs not in (None, -1) and done >= max_epochs:
        raise ConfigError(
            f"ckpt_path={value}: the run already trained {done} epochs, trainer.max_epochs={max_epochs}; "
            f"raise trainer.max_epochs to train further"
        )
    return str(path), checkpoint
