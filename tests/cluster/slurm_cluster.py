"""What the cluster tests need: a real Slurm (`sbatch` on PATH and a controller that answers;
tests/cluster/start_slurm.sh starts a one-node one on this machine), and sweeps started in the background.

Without Slurm the tests skip with the reason, except under CI=true, where a skipped cluster test would
hide that CI never ran them: there they fail.
"""

import functools
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from conftest import PROJECT_ROOT

START_SCRIPT = "tests/cluster/start_slurm.sh"


@functools.cache
def slurm_unavailable() -> str | None:
    """Why the cluster tests cannot run here, or None when sbatch and a responding node are there."""
    if shutil.which("sbatch") is None:
        return f"no sbatch on PATH (start a one-node Slurm with {START_SCRIPT}, as root)"
    try:
        ping = subprocess.run(["scontrol", "ping"], capture_output=True, text=True, timeout=10)
        if "is UP" not in ping.stdout:
            answer = (ping.stdout + ping.stderr).strip().splitlines()
            return f"no Slurm controller answers ({answer[0] if answer else 'scontrol ping'}); run {START_SCRIPT}"
        command = ["sinfo", "--noheader", "--responding", "--states=idle,mixed,allocated", "--format=%N"]
        nodes = subprocess.run(command, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"Slurm does not answer: {error}"
    if not nodes.stdout.strip():
        return f"no Slurm node takes jobs ({nodes.stderr.strip() or 'sinfo: none idle'}); run {START_SCRIPT}"
    return None


def require_slurm() -> None:
    """Skips (fails under CI=true) when there is no Slurm to submit to."""
    reason = slurm_unavailable()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but the Slurm cluster tests cannot run: {reason}")
    pytest.skip(reason)


class Sweep:
    """``python train.py -m hydra/launcher=slurm <overrides>`` started in the background, its outputs
    under ``log_dir``, its SLURM jobs named ``job_name`` (so that they can be signalled and cancelled).

    ``wait()`` gives the finished process; the wait is bounded from the start (``timeout_s``), so sweeps
    started together are waited for at most that long in all, and their jobs are then cancelled.
    """

    def __init__(self, log_dir: Path, *overrides: str, timeout_s: float = 180) -> None:
        self.log_dir = log_dir
        log_dir.mkdir(parents=True)
        self.job_name = f"torch-lessons-test-{uuid.uuid4().hex[:8]}"
        self.stdout_path, self.stderr_path = log_dir / "stdout.txt", log_dir / "stderr.txt"
        command = [sys.executable, "train.py", "-m", "hydra/launcher=slurm", *overrides]
        command += [f"hydra.launcher.name={self.job_name}", f"paths.log_dir={log_dir}"]
        with self.stdout_path.open("w") as stdout, self.stderr_path.open("w") as stderr:
            self.process = subprocess.Popen(command, cwd=PROJECT_ROOT, stdout=stdout, stderr=stderr, text=True)
        self.deadline = time.monotonic() + timeout_s
        self.started = time.monotonic()
        self.wall_s: float | None = None
        self.signalled: subprocess.CompletedProcess | None = None

    def scancel(self, *options: str) -> subprocess.CompletedProcess:
        command = ["scancel", *options, f"--name={self.job_name}"]
        return subprocess.run(command, capture_output=True, text=True, timeout=30)

    def signal_when(self, pattern: str, signal_name: str = "TERM") -> None:
        """From a background thread: ``scancel --signal=<signal_name>`` to the sweep's jobs as soon as a
        file matching ``pattern`` (below ``log_dir``) exists, e.g. a job's first checkpoint."""

        def watch() -> None:
            while self.process.poll() is None:
                if any(self.log_dir.glob(pattern)):
                    self.signalled = self.scancel(f"--signal={signal_name}")
                    return
                time.sleep(0.05)

        threading.Thread(target=watch, daemon=True).start()

    def wait(self) -> subprocess.Popen:
        try:
            self.process.wait(timeout=max(1.0, self.deadline - time.monotonic()))
        finally:
            self.stop()
        if self.wall_s is None:
            self.wall_s = round(time.monotonic() - self.started, 1)
        return self.process

    def stop(self) -> None:
        """Kills the sweep process if it still runs, and cancels its jobs (none once it has finished)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
            self.scancel()

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text()

    @property
    def sweep_dir(self) -> Path:
        (sweep_dir,) = self.log_dir.glob("multirun/*/*")
        return sweep_dir

    def job_dir(self, number: int) -> Path:
        (job_dir,) = self.sweep_dir.glob(f"{number}_*")
        return job_dir
