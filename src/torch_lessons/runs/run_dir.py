"""A Hydra callback that refuses to run in a directory that already holds files."""

import os
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig


class RefuseExistingRunDir(Callback):
    """Stops before Hydra writes anything when ``hydra.run.dir`` (or a sweep's ``hydra.sweep.dir``)
    already holds files: Hydra would overwrite ``.hydra/config.yaml`` and the run would mix its
    checkpoints and event files with an earlier run's.

    Default run dirs carry microseconds and never exist yet; this guards the ones a user names. The
    other ranks of a DDP run (started by Lightning or by srun) share rank 0's run dir on purpose
    and are let through.
    The check runs before torch is imported, so the answer is immediate.
    """

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        run_dir = Path(config.hydra.run.dir)
        refuse_if_used("hydra.run.dir", run_dir, f"; to continue that run, pass ckpt_path={run_dir}")

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        refuse_if_used("hydra.sweep.dir", Path(config.hydra.sweep.dir))


# Set for the ranks other than 0: by Lightning's DDP launcher, and by srun for each SLURM task.
OTHER_RANK_VARIABLES = ("LOCAL_RANK", "SLURM_PROCID")


def refuse_if_used(key: str, directory: Path, hint: str = "") -> None:
    if any(os.environ.get(rank, "0") != "0" for rank in OTHER_RANK_VARIABLES) or not directory.is_dir():
        return
    entries = sorted(entry.name for entry in directory.iterdir())
    if entries:
        shown = ", ".join(entries[:3]) + (", ..." if len(entries) > 3 else "")
        sys.exit(
            f"error: {key}={directory} already holds files ({shown}); choose a new dir, or leave {key} unset "
            f"for a fresh one{hint}"
        )
