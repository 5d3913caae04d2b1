"""SIGTERM to a DDP run (2 gloo processes) at random moments: never a hang, one last.ckpt, exact resume."""

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from conftest import PROJECT_ROOT, assert_same_weights

pytestmark = pytest.mark.slow  # tens of seconds: run by CI and by `python -m pytest -m "slow or slurm"`

# 40 epochs of 2 steps: each rank's padded 3 of the 5 points in batches of 2, one batch per training_step
OVERRIDES = [
    "task=least_squares",
    "trainer=ddp",
    "trainer.accelerator=cpu",
    "trainer.devices=2",
    "trainer.max_epochs=40",
    "data.batches_per_group=1",
    "logger=none",
    "test=false",
]
TIMEOUT_S = 150  # a hung run is killed and the test fails


def child_ranks(rank_zero: int) -> list[int]:
    """The pids of the train.py processes that Lightning's launcher started for the other ranks."""
    children = Path(f"/proc/{rank_zero}/task/{rank_zero}/children").read_text().split()
    return [int(pid) for pid in children if b"train.py" in Path(f"/proc/{pid}/cmdline").read_bytes()]


def new_last_checkpoint(log_dir: Path, before: set[Path]) -> bool:
    return any(path.parents[1] not in before for path in log_dir.glob("runs/*/*/checkpoints/last.ckpt"))


def send_sigterms(rank_zero: int, count: int) -> str:
    """``count`` SIGTERMs, each after a random pause of up to a second, each to rank 0, rank 1 or both
    (``kill``, or SLURM's pre-emption, which signals every task); returns what was sent."""
    pids = {"rank 0": rank_zero, "rank 1": child_ranks(rank_zero)[0]}
    sent = []
    for _ in range(count):
        pause, targets = random.uniform(0, 1.0), random.choice([["rank 0"], ["rank 1"], ["rank 0", "rank 1"]])
        time.sleep(pause)
        for target in targets:
            with contextlib.suppress(ProcessLookupError):  # a second signal may come after the exit
                os.kill(pids[target], signal.SIGTERM)
        sent.append(f"{' and '.join(targets)} after {pause:.2f} s")
    return "SIGTERM to " + ", then ".join(sent)


def run_train(log_dir: Path, *extra: str, sigterms: int = 0) -> tuple[Path, str, str]:
    """Runs train.py; with ``sigterms`` > 0 sends them once its first last.ckpt appears (training is on).
    Returns the run dir, stdout and what was sent."""
    before = set(log_dir.glob("runs/*/*"))
    command = [sys.executable, "train.py", *OVERRIDES, *extra, f"paths.log_dir={log_dir}"]
    process = subprocess.Popen(
        command, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    sent = "nothing"
    try:
        if sigterms:
            deadline = time.monotonic() + TIMEOUT_S
            while not new_last_checkpoint(log_dir, before):
                assert process.poll() is None and time.monotonic() < deadline, "the run ended before its first epoch"
                time.sleep(0.05)
            sent = send_sigterms(process.pid, sigterms)
        stdout, _ = process.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        pytest.fail(f"hung after {sent}: {process.communicate()[0][-2000:]}")
    assert process.returncode == 0, f"{sent}: {stdout[-3000:]}"
    (run_dir,) = set(log_dir.glob("runs/*/*")) - before
    return run_dir, stdout, sent


def last_checkpoint(run_dir: Path) -> dict:
    return torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="finds the other rank's pid in /proc (Linux)")
def test_sigterm_at_random_moments_never_hangs_and_resumes_exactly(tmp_path: Path) -> None:
    """One or two SIGTERMs at random moments to random ranks, then a resume: every rank stops after the
    same step, rank 0 writes last.ckpt once and says so, and the resumed run ends on the uninterrupted
    run's exact weights. ``SIGTERM_TRIALS=4`` chains 4 interrupted runs (each resuming the previous one)
    before the final resume; the default of 1 keeps the suite's time down (each run starts 2 processes)."""
    straight, _, _ = run_train(tmp_path / "straight")
    expected = last_checkpoint(straight)

    log_dir, resume_from, trials = tmp_path / "interrupted", [], []
    for _ in range(int(os.environ.get("SIGTERM_TRIALS", "1"))):
        run_dir, stdout, sent = run_train(log_dir, *resume_from, sigterms=random.choice([1, 2]))
        interrupted = [line for line in stdout.splitlines() if line.startswith("Interrupted by SIGTERM")]
        assert len(interrupted) == 1, f"{sent}: rank 0 alone reports it, once: {stdout[-2000:]}"
        saved = last_checkpoint(run_dir)
        where = f"at epoch {saved['epoch']}, step {saved['global_step']};"
        assert interrupted[0].startswith(f"Interrupted by SIGTERM {where}"), (interrupted[0], where)
        assert interrupted[0].endswith(f"ckpt_path={run_dir}"), interrupted[0]
        assert saved["global_step"] < expected["global_step"], f"{sent}: stopped before the end"
        trials.append(f"{sent}: stopped {where}")
        resume_from = [f"ckpt_path={run_dir}"]

    final_dir, stdout, _ = run_train(log_dir, *resume_from)
    assert "Interrupted" not in stdout
    final = last_checkpoint(final_dir)
    assert (final["epoch"], final["global_step"]) == (expected["epoch"], expected["global_step"]), trials
    assert_same_weights(final["state_dict"], expected["state_dict"])
    print("\n".join(trials))
