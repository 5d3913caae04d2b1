"""What the cluster tests need: a real Slurm (`sbatch` on PATH and a controller that answers;
tests/cluster/start_slurm.sh starts a one-node one on this machine), and sweeps started in the background.

Without Slurm the tests skip with the reason, except under CI=true, where a skipped cluster test would
hide that CI never ran them: there they fail.
"""

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import PROJECT_ROOT

START_SCRIPT = "tests/cluster/start_slurm.sh"


def slurm_unavailable() -> str | None:
    """Why the cluster tests cannot run here, or None when sbatch and a responding node are there."""
    if shutil.which("sbatch") is None:
        return f"no sbatch on PATH (start a one-node Slurm with {START_SCRIPT}, as root)"
    try:
        ping = subprocess.run(["scontrol", "ping"], capture_output=True, text=True, timeout=10)
        nodes = subprocess.run(
            ["sinfo", "--noheader", "--responding", "--states=idle,mixed,allocated", "--format=%N"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"Slurm does not answer: {error}"
    if "is UP" not in ping.stdout:
        return f"no Slurm controller answers ({(ping.stdout + ping.stderr).strip()}); run {START_SCRIPT}"
    if not nodes.stdout.strip():
        return f"no Slurm node takes jobs (sinfo: {nodes.stderr.strip() or 'none idle'}); run {START_SCRIPT}"
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
    under ``log_dir``; ``wait()`` gives the finished process."""

    def __init__(self, log_dir: Path, *overrides: str) -> None:
        self.log_dir = log_dir
        log_dir.mkdir(parents=True)
        self.stdout_path, self.stderr_path = log_dir / "stdout.txt", log_dir / "stderr.txt"
        command = [sys.executable, "train.py", "-m", "hydra/launcher=slurm", *overrides, f"paths.log_dir={log_dir}"]
        with self.stdout_path.open("w") as stdout, self.stderr_path.open("w") as stderr:
            self.process = subprocess.Popen(command, cwd=PROJECT_ROOT, stdout=stdout, stderr=stderr, text=True)
        self.started = time.monotonic()
        self.wall_s: float | None = None

    def signal_when(self, pattern: str, job_name: str, signal_name: str = "TERM") -> None:
        """From a background thread: ``scancel --signal=<signal_name> --name=<job_name>`` as soon as a file
        matching ``pattern`` (below ``log_dir``) exists, e.g. the job's first checkpoint."""
        self.signalled: subprocess.CompletedProcess | None = None

        def watch() -> None:
            while self.process.poll() is None:
                if any(self.log_dir.glob(pattern)):
                    command = ["scancel", f"--signal={signal_name}", f"--name={job_name}"]
                    self.signalled = subprocess.run(command, capture_output=True, text=True, timeout=30)
                    return
                time.sleep(0.05)

        threading.Thread(target=watch, daemon=True).start()

    def wait(self, timeout_s: float = 180) -> subprocess.Popen:
        try:
            self.process.wait(timeout=timeout_s)
        finally:
            self.process.kill()
        if self.wall_s is None:
            self.wall_s = round(time.monotonic() - self.started, 1)
        return self.process

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
