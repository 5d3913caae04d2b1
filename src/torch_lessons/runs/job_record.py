"""Each run leaves ``result.json`` in its run dir: status, reason, final metrics, epochs, wall time.

The sweep summary (summary.py) is built from these files rather than from logs. Under ``-m`` a failing
job is recorded and the sweep goes on with the next one (Hydra's sweepers would otherwise stop the
whole sweep, and skip its summary, on the first failure); a single run still ends with its error.
"""

import json
import logging
import math
import signal
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from lightning.fabric.utilities.rank_zero import rank_zero_only
from omegaconf import DictConfig

from torch_lessons.config_checks import unlogged_metric_refusal
from torch_lessons.errors import ConfigError, TrainingFault, raise_if_disk_full
from torch_lessons.sweeps.interrupt import SweepInterrupted, interruption_name, running_job, sweep_was_interrupted

log = logging.getLogger(__name__)

RESULT_FILE = "result.json"
Metrics = dict[str, float]


def one_line_reason(error: Exception) -> str:
    """The error's first line; configuration errors speak for themselves, others are named."""
    lines = str(error).strip().splitlines()
    message = lines[0] if lines else ""
    if isinstance(error, ConfigError | TrainingFault):
        return message
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def optimized_value(cfg: DictConfig, metrics: Metrics) -> float:
    """The value a sweeper optimizes; a name the run never logged is a configuration error."""
    refusal = unlogged_metric_refusal(cfg, metrics)
    if refusal:
        raise ConfigError(refusal)
    return metrics[cfg.optimized_metric]


def write_result(output_dir: Path, result: dict[str, Any]) -> None:
    """Written to a temporary name, then renamed, so a reader never sees half a file."""
    partial = output_dir / f".{RESULT_FILE}.partial"
    text = json.dumps(result, indent=2, allow_nan=True) + "\n"
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        partial.write_text(text)
        partial.replace(output_dir / RESULT_FILE)
    except OSError as error:  # the record is not lost: it goes to the log and into the one-line error
        partial.unlink(missing_ok=True)
        log.error("Could not write %s (%s); the record: %s", output_dir / RESULT_FILE, error, " ".join(text.split()))
        raise_if_disk_full(error, output_dir / RESULT_FILE, lost=f"status {result['status']}")
        raise


def run_and_record(cfg: DictConfig, train: Callable[[DictConfig], Metrics]) -> float | None:
    """Runs ``train(cfg)``, records the outcome, and returns the optimized metric (None if failed).

    A run whose optimized metric is NaN or infinite (a diverging lr) is recorded as failed too.
    """
    hydra_config = HydraConfig.get()
    multirun = hydra_config.mode == RunMode.MULTIRUN
    started = time.perf_counter()
    metrics: Metrics = {}
    value = None
    if multirun and sweep_was_interrupted(Path(hydra_config.sweep.dir)):
        record(cfg, "not started (the sweep was interrupted)", metrics, started)
        return None
    try:
        with running_job() if multirun else nullcontext():  # a single run keeps Lightning's signal handling
            metrics = train(cfg)
        value = optimized_value(cfg, metrics)
        status = "ok" if math.isfinite(value) else f"failed: diverged ({cfg.optimized_metric} = {value})"
    except (SystemExit, KeyboardInterrupt) as error:  # Ctrl-C or SIGTERM (Lightning exits): stop the whole sweep
        name = interruption_name(error)
        if name == "SIGTERM" and not multirun and threading.current_thread() is threading.main_thread():
            # The checkpoint is saved and Lightning has put back the default handler: a second SIGTERM
            # (a burst from kill or a scheduler) would kill the process halfway through its exit.
            # Ignored, as Lightning ignores further Ctrl-C while it shuts down.
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        record(cfg, f"interrupted ({name})", metrics, started)
        if multirun:  # see SweepInterrupted
            raise SweepInterrupted(name) from None
        raise
    except Exception as error:
        status = f"failed: {one_line_reason(error)}"
        if not multirun:
            record(cfg, status, metrics, started)
            raise
        log.exception("Job failed; the sweep goes on")
    record(cfg, status, metrics, started)
    if status != "ok":
        log.warning("Job %s", status)
        return None
    return value


@rank_zero_only  # under DDP every rank runs the job; one writes its record
def record(cfg: DictConfig, status: str, metrics: Metrics, started: float) -> None:
    write_result(
        Path(cfg.paths.output_dir),
        {
            "status": status,
            "optimized_metric": cfg.get("optimized_metric"),
            "optimized_metric_mode": cfg.get("optimized_metric_mode"),
            "epochs": metrics.get("epochs"),
            "wall_time_s": round(time.perf_counter() - started, 3),
            "metrics": metrics,
        },
    )
