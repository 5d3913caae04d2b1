"""``hydra/launcher=slurm`` against a real Slurm, used as the README says: sweeps, a 2-task DDP job,
``scancel --signal=TERM`` and resuming, a failing job, and sbatch refusing a request.

The Slurm jobs of all tests are submitted at once (module fixture ``sweeps``) so that they run side
by side on the node; each test then waits for its own, the quickest first. The default requests (1 CPU, 4 GB, no GPU on
a CPU run) are what these tests submit: no launcher override is needed on a CPU-only partition.
"""

import csv
import json
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from conftest import DDP_RUN_DIR_FILES, assert_same_weights, files_below
from slurm_cluster import Sweep, require_slurm
from torch_lessons.training import train

pytestmark = pytest.mark.slurm


@pytest.fixture(scope="module")
def slurm() -> None:
    require_slurm()


SAMPLE_SWEEP = ["task=fashion_mnist", "data.source=sample", "trainer.max_epochs=1", "logger=none", "test=false"]
SAMPLE_SWEEP += ["optimizer.lr=0.1,0.01,-1"]  # 3 jobs: two that train, one refused by the config check (lr > 0)
# fruit_yield's first 4 rows: 2 per rank under DDP, so the reduced metric is the mean over all 4 whether
# or not shards are padded; rank 0 alone would report the mean over rows 0 and 2.
FOUR_ROWS = [
    "data.inputs=[[73,67,43],[91,88,64],[87,134,58],[102,43,37]]",
    "data.targets=[[56,70],[81,101],[119,133],[22,37]]",
]
DDP_JOB = ["task=fruit_yield", *FOUR_ROWS, "trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2"]
DDP_JOB += ["trainer.max_epochs=2", "logger=csv", "test=false"]
# ~10 ms per epoch: long enough to be stopped mid-run after its first checkpoint.
INTERRUPTED_JOB = ["task=least_squares", "trainer.max_epochs=150", "logger=none", "test=false"]


@pytest.fixture(scope="module")
def sweeps(slurm, tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Iterator[dict[str, Sweep]]:
    root = tmp_path_factory.mktemp("slurm")
    data = f"paths.data_dir={data_dir}"
    started = {
        "sample": Sweep(root / "sample", *SAMPLE_SWEEP, data),
        "ddp": Sweep(root / "ddp", *DDP_JOB, data),
        "interrupted": Sweep(root / "interrupted", *INTERRUPTED_JOB, data),
    }
    # as a scheduler pre-empts a job: SIGTERM once training has begun (its first last.ckpt)
    started["interrupted"].signal_when("multirun/*/*/0_*/checkpoints/last.ckpt")
    yield started
    for sweep in started.values():
        sweep.stop()
    print("\nSlurm sweeps, wall time (s):", {name: sweep.wall_s for name, sweep in started.items()})


def finished(sweep: Sweep) -> Sweep:
    process = sweep.wait()
    assert process.returncode == 0, sweep.stderr[-3000:]
    assert "Traceback" not in sweep.stderr
    return sweep


def test_scancel_sigterm_saves_last_checkpoint_and_the_printed_command_resumes_exactly(
    sweeps: dict[str, Sweep], compose_config
) -> None:
    sweep = finished(sweeps["interrupted"])
    assert sweep.signalled is not None and sweep.signalled.returncode == 0, sweep.signalled

    checkpoint = torch.load(sweep.job_dir(0) / "checkpoints" / "last.ckpt", weights_only=True)
    assert 0 < checkpoint["epoch"] < 149, "stopped mid-run, not at the end"
    assert "interrupted" in (sweep.sweep_dir / "summary.md").read_text()
    (job_stdout,) = (sweep.sweep_dir / ".submitit").glob("*/*_0_log.out")
    (message,) = [line for line in job_stdout.read_text().splitlines() if line.startswith("Interrupted by SIGTERM")]
    command = shlex.split(message.split("Resume with: ")[1])
    assert command[:2] == ["python", "train.py"] and command[-1] == f"ckpt_path='{sweep.job_dir(0)}'", command

    resumed = compose_config("train", command[2:])  # the printed command's overrides, as train.py composes them
    train(resumed)
    uninterrupted = compose_config("train", command[2:-1])
    train(uninterrupted)
    final = [
        torch.load(Path(cfg.paths.output_dir, "checkpoints", "last.ckpt"), weights_only=True)
        for cfg in (resumed, uninterrupted)
    ]
    assert (final[0]["epoch"], final[0]["global_step"]) == (final[1]["epoch"], final[1]["global_step"])
    assert_same_weights(final[0]["state_dict"], final[1]["state_dict"])


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "hydra.launcher.partition=nope",
            "error: hydra.launcher.partition=nope: sbatch: error: invalid partition specified: nope; "
            "Batch job submission failed: Invalid partition name specified",
        ),
        (
            "hydra.launcher.mem_gb=100000",
            "error: hydra.launcher.mem_gb=100000: sbatch: error: Memory specification can not be satisfied; "
            "Batch job submission failed: Requested node configuration is not available",
        ),
    ],
    ids=["partition", "mem_gb"],
)
def test_sbatch_refusal_is_one_line_naming_the_key(sweeps, tmp_path: Path, override: str, message: str) -> None:
    """Refused at submission: nothing runs. (``sweeps`` only so that its jobs run meanwhile.)"""
    sweep = Sweep(tmp_path / "outputs", "task=least_squares", "optimizer=sgd,adam", override, timeout_s=60)
    assert sweep.wait().returncode == 1
    assert sweep.stderr.splitlines() == [message]


def losses_per_row(state_dict: dict[str, torch.Tensor]) -> torch.Tensor:
    """Each of the 4 rows' MSE (over its two outputs) under the checkpoint's nn.Linear(3, 2)."""
    inputs = torch.tensor([[73, 67, 43], [91, 88, 64], [87, 134, 58], [102, 43, 37]], dtype=torch.float32)
    targets = torch.tensor([[56, 70], [81, 101], [119, 133], [22, 37]], dtype=torch.float32)
    outputs = inputs @ state_dict["net.weight"].T + state_dict["net.bias"]
    return ((outputs - targets) ** 2).mean(dim=1)


def test_ddp_job_runs_as_two_slurm_tasks_reduces_metrics_and_rank_zero_writes(sweeps: dict[str, Sweep]) -> None:
    sweep = finished(sweeps["ddp"])
    run_dir = sweep.job_dir(0)
    last = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert last["global_step"] == 2, "each rank trains on its 2 of 4 rows: 1 batch of 2 per epoch, not 2"

    row_losses = losses_per_row(last["state_dict"])
    all_rows, rank_zero_rows = row_losses.mean().item(), row_losses[[0, 2]].mean().item()
    assert abs(all_rows - rank_zero_rows) > 1e-3 * all_rows, "the test could not tell reduced from rank 0's"
    with (run_dir / "csv" / "metrics.csv").open() as metrics_file:
        rows = [row for row in csv.DictReader(metrics_file) if row.get("val/loss")]
    assert [float(row["epoch"]) for row in rows] == [0, 1], "one metrics file, one row per epoch: rank 0 only"
    assert abs(float(rows[-1]["val/loss"]) - all_rows) <= 1e-4 * all_rows, (rows[-1], all_rows, rank_zero_rows)

    assert files_below(run_dir) == DDP_RUN_DIR_FILES
    assert (run_dir / "train.log").read_text().count("Parameters: 8 trainable") == 1, "rank 1 logged into train.log"
    # rank 1 is SLURM task 1 of the job: its log is submitit's <job id>_1_log.out/err
    (rank_one_stdout,) = (sweep.sweep_dir / ".submitit").glob("*/*_1_log.out")
    assert "Parameters: 8 trainable" in rank_one_stdout.read_text()
    assert "GLOBAL_RANK: 1, MEMBER: 2/2" in rank_one_stdout.with_suffix(".err").read_text()


def test_sweep_on_the_sample_summarizes_every_job_and_keeps_submitit_logs(sweeps: dict[str, Sweep]) -> None:
    sweep = finished(sweeps["sample"])
    summary = (sweep.sweep_dir / "summary.md").read_text()
    rows = [line for line in summary.splitlines() if line.startswith("| ") and "optimizer.lr=" in line.split("|")[1]]
    assert len(rows) == 3, summary
    ok_rows = [row for row in rows if row.rstrip(" |").endswith("| ok")]
    assert sorted(row.split("|")[2].strip() for row in ok_rows) == ["optimizer.lr=0.01", "optimizer.lr=0.1"], summary
    (failed,) = [row for row in rows if row not in ok_rows]
    assert "optimizer.lr=-1" in failed and "failed: optimizer.lr=-1" in failed, failed
    assert rows[-1] == failed, "the failed job is listed after the finished ones"
    for number in (0, 1):
        result = json.loads((sweep.job_dir(number) / "result.json").read_text())
        assert result["status"] == "ok" and result["epochs"] == 1 and 0 < result["metrics"]["val/acc"] <= 1

    # submitit's files: one folder per array task, with the job's stdout and stderr
    logs = sorted(path.name for path in (sweep.sweep_dir / ".submitit").glob("*/*_log.*"))
    assert len(logs) == 6 and all(name.endswith(("_0_log.out", "_0_log.err")) for name in logs), logs
    (job_stdout,) = (sweep.sweep_dir / ".submitit").glob("*_0/*_0_0_log.out")
    assert "Job completed successfully" in job_stdout.read_text()
