"""SIGTERM or Ctrl-C (SIGINT) to a sweep: the running jobs save and record ``interrupted``, the
jobs not yet started are not run, every worker process ends, and the sweep's process writes the
summary and exits with 128 + the signal's number and one line of counts.

Without this, Hydra's basic launcher exits 0 (Lightning's ``SIGTERMException`` is a bare
``SystemExit``) and the joblib launcher's parent dies at once while its loky workers train on.
The sweep's process (the one that ran ``on_multirun_start``) tells its joblib workers by SIGTERM and
by a marker file in the sweep dir, waits a bounded time for their jobs to record themselves, then
raises: joblib's abort kills the workers that are left.
"""

import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

MARKER = ".interrupted"  # in the sweep dir: jobs that start after it appears are not run
WATCHED = (signal.SIGTERM, signal.SIGINT)
WORKER_GRACE_S = 30.0  # how long joblib workers get to save and record the job they are running


class SweepInterrupted(SystemExit):
    """Raised in the sweep's process (and in a job outside Lightning's own handling) on a signal. A
    SystemExit like Lightning's SIGTERMException, so that launchers that treat a job's exit as its end
    (hydra/launcher=slurm: a pre-empted job, the sweep goes on) see one, and plain, so that a joblib
    parent unpickles it without importing Lightning."""


@dataclass
class SweepState:
    sweep_dir: Path | None = None
    sweep_pid: int | None = None  # the process that runs the sweeper; jobs may run in workers
    signal_name: str | None = None  # the first signal received
    job_running: bool = False  # whether this process is inside a job (run_and_record)


STATE = SweepState()


def watch_sweep(sweep_dir: Path) -> None:
    """Called once by the sweep's process before its first job."""
    STATE.sweep_dir, STATE.sweep_pid = sweep_dir, os.getpid()
    watch_signals()


def watch_signals() -> None:
    for watched in WATCHED:
        if signal.getsignal(watched) is not on_signal:
            signal.signal(watched, on_signal)


def on_signal(number: int, frame: FrameType | None) -> None:
    """Also called by Lightning's own SIGTERM handler during fit/test (it calls the handler it
    replaced); Lightning then stops the job itself at the next batch, saving a checkpoint."""
    first = STATE.signal_name is None
    STATE.signal_name = STATE.signal_name or signal.Signals(number).name
    in_sweep_process = os.getpid() == STATE.sweep_pid
    if in_sweep_process and first and STATE.sweep_dir is not None:
        (STATE.sweep_dir / MARKER).write_text(STATE.signal_name + "\n")
        stop_workers(STATE.sweep_dir)
    if STATE.job_running:
        if signal.getsignal(number) is not on_signal:
            return  # Lightning's handler is in charge of this job
        STATE.job_running = False  # raise once per job, so the job can record itself
        raise KeyboardInterrupt if number == signal.SIGINT else SweepInterrupted(STATE.signal_name)
    if in_sweep_process:
        raise SweepInterrupted(STATE.signal_name)


def worker_processes() -> list[multiprocessing.Process]:
    """The joblib (loky) workers of this process; not data-loader workers, which their job ends."""
    return [child for child in multiprocessing.active_children() if type(child).__name__ == "LokyProcess"]


def stop_workers(sweep_dir: Path) -> None:
    """SIGTERMs the joblib workers and waits until the jobs they run have written result.json
    (or the workers died, or WORKER_GRACE_S passed)."""
    workers = worker_processes()
    for worker in workers:
        try:
            os.kill(worker.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + WORKER_GRACE_S
    while workers and time.monotonic() < deadline:
        if not unrecorded_jobs(sweep_dir) or not any(worker.is_alive() for worker in workers):
            return
        time.sleep(0.2)


def unrecorded_jobs(sweep_dir: Path) -> list[Path]:
    """Job dirs that Hydra created but whose job has not written result.json yet."""
    job_dirs = (path.parent.parent for path in sweep_dir.rglob(".hydra/overrides.yaml"))
    return [job_dir for job_dir in job_dirs if not (job_dir / "result.json").exists()]


def sweep_was_interrupted(sweep_dir: Path) -> bool:
    return (sweep_dir / MARKER).exists()


def interruption_name(error: BaseException) -> str:
    """``SIGTERM``/``SIGINT`` when known, else the exception's type."""
    from lightning.pytorch.utilities.exceptions import SIGTERMException

    if STATE.signal_name:
        return STATE.signal_name
    if isinstance(error, SIGTERMException):
        return "SIGTERM"
    return type(error).__name__


@contextmanager
def running_job() -> Iterator[None]:
    """Marks this process as inside a job, so that a signal outside Lightning's handling (data
    loading, building the net) interrupts the job too."""
    previous = {watched: signal.getsignal(watched) for watched in WATCHED}
    watch_signals()
    STATE.job_running = True
    try:
        yield
    finally:
        STATE.job_running = False
        for watched, handler in previous.items():
            signal.signal(watched, handler)


@contextmanager
def finish_interrupted_sweep() -> Iterator[None]:
    """Wraps a script's Hydra main: an interrupted sweep ends with its summary, one line of counts,
    and exit status 128 + the signal's number (143 for SIGTERM, 130 for Ctrl-C)."""
    try:
        yield
    except BaseException:
        if STATE.signal_name is None or STATE.sweep_dir is None or os.getpid() != STATE.sweep_pid:
            raise
        for worker in worker_processes():  # joblib has killed them already; make sure
            worker.kill()
        from torch_lessons.sweeps.summary import count_by_outcome, read_sweep, write_summary

        write_summary(STATE.sweep_dir)
        rows = read_sweep(STATE.sweep_dir)
        counts = ", ".join(f"{count} {outcome}" for outcome, count in count_by_outcome(rows).items())
        print(
            f"error: sweep interrupted by {STATE.signal_name}: {counts}; summary: {STATE.sweep_dir / 'summary.md'}",
            file=sys.stderr,
        )
        raise SystemExit(128 + signal.Signals[STATE.signal_name].value) from None
