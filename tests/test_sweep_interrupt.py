"""SIGTERM or Ctrl-C to a sweep: every process ends, the summary lists the finished, interrupted and
never-started jobs, and the exit status says it was interrupted; colliding job dirs are refused."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from conftest import PROJECT_ROOT
from torch_lessons.sweeps.summary import read_sweep

SWEEP = ["task=least_squares", "logger=none", "trainer.max_epochs=100000", "optimizer.lr=0.01,0.02,0.03"]


def live_processes_in_group(group: int) -> list[int]:
    """Processes of a process group that still run (zombies waiting for init are not counted)."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            alive.append(int(stat.parent.name))
    return alive


def wait_for(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.5)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("launcher", "signal_number", "training_jobs"),
    [([], signal.SIGINT, 1), (["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"], signal.SIGTERM, 2)],
    ids=["basic-ctrl-c", "joblib-sigterm"],
)
def test_interrupted_sweep_summarizes_and_leaves_no_process(tmp_path: Path, launcher, signal_number, training_jobs):
    sweep = subprocess.Popen(
        [sys.executable, "train.py", "-m", *launcher, *SWEEP, f"paths.log_dir={tmp_path}"],
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        training = lambda: {path.parent for path in tmp_path.glob("multirun/*/*/*/checkpoints/*.ckpt")}  # noqa: E731
        wait_for(lambda: len(training()) >= training_jobs, 180)
        if signal_number == signal.SIGINT:
            os.killpg(sweep.pid, signal.SIGINT)  # Ctrl-C reaches the whole foreground process group
        else:
            os.kill(sweep.pid, signal.SIGTERM)  # `kill <pid>` reaches the sweep's own process only
        _, stderr = sweep.communicate(timeout=90)
        wait_for(lambda: not live_processes_in_group(sweep.pid), 10)
    finally:
        os.killpg(sweep.pid, signal.SIGKILL) if live_processes_in_group(sweep.pid) else None
        sweep.wait(timeout=10)

    assert sweep.returncode == 128 + signal_number
    (sweep_dir,) = tmp_path.glob("multirun/*/*")
    name = signal.Signals(signal_number).name
    not_started = 3 - training_jobs
    assert stderr.strip().splitlines()[-1] == (
        f"error: sweep interrupted by {name}: 0 finished, {training_jobs} interrupted, {not_started} not started; "
        f"summary: {sweep_dir / 'summary.md'}"
    )
    statuses = sorted(row.status for row in read_sweep(sweep_dir))
    assert statuses == [f"interrupted ({name})"] * training_jobs + ["not started"] * not_started
    summary = (sweep_dir / "summary.md").read_text()
    assert (
        summary.count(f"| interrupted ({name}) |") == training_jobs
        and "optimizer.lr=0.03 |  |  | not started |" in summary
    )
    for checkpoint_dir in sweep_dir.glob("*/checkpoints"):
        assert (checkpoint_dir / "last.ckpt").is_file(), "each interrupted job saved its state"


@pytest.mark.parametrize(
    ("overrides", "line"),
    [
        (
            ["-m", "task=least_squares", "optimizer=sgd,adam", "hydra.sweep.subdir=job"],
            "error: hydra.sweep.subdir=job puts job 0 (optimizer=sgd) and job 1 (optimizer=adam) into the same dir "
            "job; include ${hydra.job.num} in it",
        ),
        (  # without the check every trial fails and Optuna ends with a traceback ("No trials are completed yet")
            ["hparams_search=fashion_mnist_optuna", "optimizer.weight_decay=-1", "debug=fast_dev_run"],
            "error: optimizer.weight_decay=-1: must be a number ≥ 0 (every job of this search would fail on it)",
        ),
    ],
    ids=["colliding job dirs", "optuna with a bad fixed value"],
)
def test_sweep_refused_in_one_line_before_any_job(tmp_path: Path, overrides: list[str], line: str) -> None:
    result = subprocess.run(
        [sys.executable, "train.py", *overrides, f"paths.log_dir={tmp_path}"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [line]
    assert not (tmp_path / "multirun").exists()


def test_optuna_subdir_must_hold_the_job_number(tmp_path: Path) -> None:
    from torch_lessons.sweeps.plan import job_dir_collision

    config = OmegaConf.create({"hydra": {"sweep": {"subdir": "${hydra.job.override_dirname}"}}})
    assert job_dir_collision(config, None).startswith(
        "hydra.sweep.subdir=${hydra.job.override_dirname}: this sweeper picks its jobs as it runs"
    )
    config.hydra.sweep.subdir = "${hydra.job.num}_${hydra.job.override_dirname}"
    assert job_dir_collision(config, None) is None
