"""Checkpoint files written whole or not at all."""

import os
import uuid
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

from torch_lessons.errors import raise_if_disk_full


class AtomicCheckpointIO(TorchCheckpointIO):
    """Writes each checkpoint to a temporary file beside it, flushes it to disk, then renames it
    over the target with ``os.replace``.

    Lightning's own writer (via fsspec) stages the file in the system temp dir and moves it into
    place: a rename when that dir is on the same filesystem, but a copy into the target when it is
    not (common on clusters with a node-local ``/tmp``), and a kill during that copy leaves a
    truncated ``last.ckpt``. A rename within one directory is atomic on POSIX and Windows: a reader
    sees the old file or the new one, never half of one.
    """

    def save_checkpoint(self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any = None) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} takes no storage_options, got {storage_options!r}")
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            with temporary.open("wb") as file:
                torch.save(checkpoint, file)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, target)
        except BaseException as error:
            temporary.unlink(missing_ok=True)
            raise_if_disk_full(error, target)
            raise
