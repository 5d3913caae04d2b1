"""What ``hydra/launcher=slurm`` adds to hydra-submitit-launcher, learned from a real Slurm (tests/cluster/).

The launcher class itself lives in ``hydra_plugins.torch_lessons_slurm`` (Hydra accepts launchers only
from the ``hydra_plugins`` package, and imports that package, and so this module, before composing).

- GPUs are requested only for GPU runs: ``gpus_per_node: ${slurm_gpus:${trainer.accelerator},${trainer.devices}}``
  in conf/hydra/launcher/slurm.yaml (sbatch refuses any GPU request on a partition without GPUs).
- sbatch refusing a sweep ends it with one line naming the launcher key and sbatch's own message,
  instead of submitit's traceback.
- The other SLURM tasks of a DDP job (ranks 1, 2, ...) write nothing into the run dir: no ``.hydra/``,
  no lines in ``train.log``; their logs are submitit's ``.submitit/<job id>/<job id>_<rank>_log.out|err``.
- A job stopped by SIGTERM (``scancel --signal=TERM``, pre-emption) still hands its result back:
  without Slurm accounting submitit would otherwise wait forever for a job that left no result file.
"""

import contextlib
import shutil
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

from omegaconf import ListConfig, OmegaConf

GPU_ACCELERATORS = ("gpu", "cuda")


def slurm_gpus(accelerator: str, devices: Any) -> int | None:
    """GPUs per node for ``trainer.accelerator``/``trainer.devices``: the device count on GPUs, else
    None (no ``--gpus-per-node``). ``accelerator=auto`` asks for none: the partition decides nothing
    here, so a GPU run says ``trainer=gpu`` (or ``trainer.accelerator=gpu``)."""
    if str(accelerator) not in GPU_ACCELERATORS:
        return None
    if isinstance(devices, list | ListConfig):
        return len(devices)
    if isinstance(devices, int) and devices > 0:
        return devices
    raise ValueError(
        f"trainer.devices={devices}: hydra/launcher=slurm needs a number of GPUs per node (e.g. trainer.devices=4)"
    )


if not OmegaConf.has_resolver("slurm_gpus"):
    OmegaConf.register_new_resolver("slurm_gpus", slurm_gpus)

# Hydra overrides for SLURM tasks other than rank 0: Lightning makes rank 0 the only writer of checkpoints
# and logs; without these, every rank would also write .hydra/ and append its log lines to train.log.
OTHER_RANK_OVERRIDES = ("hydra.output_subdir=null", "hydra.job_logging.root.handlers=[console]")

# sbatch's messages and the launcher keys (conf/hydra/launcher/slurm.yaml) that cause them.
SBATCH_CAUSES = {
    "partition": ("partition",),
    "generic resource": ("gpus_per_node", "gres"),
    "memory": ("mem_gb", "mem_per_cpu", "mem_per_gpu"),
    "processors": ("nodes", "tasks_per_node", "cpus_per_task"),
    "node count": ("nodes",),
    "time limit": ("timeout_min",),
    "feature": ("constraint",),
    "account": ("account",),
    "qos": ("qos",),
}


def sbatch_refusal(params: dict[str, Any], sbatch_message: str) -> str:
    """``hydra.launcher.partition=nope: sbatch: error: invalid partition specified: nope; ...``"""
    lines = [line.strip().removeprefix("sbatch: error: ") for line in sbatch_message.splitlines() if line.strip()]
    message = "sbatch: error: " + "; ".join(dict.fromkeys(lines))
    lowered = message.lower()
    keys = [key for words, causes in SBATCH_CAUSES.items() if words in lowered for key in causes if key in params]
    named = [f"hydra.launcher.{key}={params[key]}" for key in dict.fromkeys(keys) if params[key] is not None]
    return f"{', '.join(named) or 'hydra/launcher=slurm'}: {message}"


def require_slurm_commands() -> None:
    """Without ``sbatch``/``srun`` (not on a cluster's login node) submitit fails with a traceback."""
    missing = [command for command in ("sbatch", "srun") if shutil.which(command) is None]
    if missing:
        raise SystemExit(
            f"error: hydra/launcher=slurm needs Slurm's {' and '.join(missing)} on PATH: run the sweep on the "
            "cluster's login node (or use hydra/launcher=local to run its jobs here)"
        )


class StderrWithoutSbatchLines:
    """stderr as it is, except sbatch's own lines, held back: submitit prints sbatch's message before it
    raises, and the one-line error repeats it."""

    def __init__(self, stderr: Any) -> None:
        self.stderr = stderr
        self.held: list[str] = []

    def write(self, text: str) -> int:
        if text.startswith("sbatch: ") or (text == "\n" and self.held and self.held[-1] != "\n"):
            self.held.append(text)
            return len(text)
        return self.stderr.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stderr, name)


@contextlib.contextmanager
def sbatch_errors_in_one_line(params: dict[str, Any]) -> Iterator[None]:
    """Turns submitit's ``FailedJobError`` from sbatch into ``error: <key>=<value>: <sbatch's message>``;
    other errors, and sbatch's lines when it did not refuse, pass through unchanged."""
    from submitit.core.utils import FailedJobError

    stderr = StderrWithoutSbatchLines(sys.stderr)
    refused = False
    try:
        with contextlib.redirect_stderr(stderr):
            yield
    except FailedJobError as error:
        command = getattr(error.__cause__, "cmd", None)
        refused = (
            isinstance(error.__cause__, subprocess.CalledProcessError) and bool(command) and command[0] == "sbatch"
        )
        if not refused:
            raise
        raise SystemExit(f"error: {sbatch_refusal(params, str(error))}") from None
    finally:
        if not refused:
            sys.stderr.write("".join(stderr.held))
