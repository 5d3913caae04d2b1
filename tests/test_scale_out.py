"""The path past one process: Lightning DDP with 2 CPU processes (gloo), and sweeps through submitit."""

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from conftest import CONFIG_DIR, DDP_RUN_DIR_FILES, PROJECT_ROOT, files_below


def run_train(*overrides: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "train.py", *overrides], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def per_row_loss(state_dict: dict[str, torch.Tensor], inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Each row's MSE (averaged over its two outputs) under the checkpoint's nn.Linear(3, 2)."""
    outputs = inputs @ state_dict["net.weight"].T + state_dict["net.bias"]
    return ((outputs - targets) ** 2).mean(dim=1)


def test_ddp_two_cpu_processes_sync_metrics_and_only_rank_zero_writes(tmp_path: Path) -> None:
    """fruit_yield's 5 rows over 2 ranks: DistributedSampler gives rank 0 rows 0, 2, 4 and rank 1 rows
    1, 3, 0 (padded). The logged val/loss must be the mean over all 6 (synced), not rank 0's 3."""
    result = run_train(
        "task=fruit_yield",
        "trainer=ddp",
        "trainer.accelerator=cpu",
        "trainer.max_epochs=2",
        "logger=csv",
        "test=false",
        f"paths.log_dir={tmp_path}",
    )
    (run_dir,) = (tmp_path / "runs").glob("*/*")  # rank 1 wrote no run dir of its own
    assert "Starting with 2 processes" in result.stderr or "distributed_backend=gloo" in result.stdout + result.stderr

    checkpoints = run_dir / "checkpoints"
    assert sorted(path.name for path in checkpoints.iterdir()) == ["epoch_001.ckpt", "last.ckpt"]
    last = torch.load(checkpoints / "last.ckpt", weights_only=True)
    assert last["global_step"] == 4, "each rank trains on its 3 of 5 rows: 2 batches of 2 per epoch, not 3"
    assert sorted(last["state_dict"]) == ["net.bias", "net.weight"], "the plain module's weights, no DDP wrapper"

    data = OmegaConf.load(CONFIG_DIR / "data" / "fruit_yield.yaml")
    inputs, targets = torch.tensor(data.inputs, dtype=torch.float32), torch.tensor(data.targets, dtype=torch.float32)
    row_losses = per_row_loss(last["state_dict"], inputs, targets)
    synced = row_losses[[0, 2, 4, 1, 3, 0]].mean().item()
    rank_zero_only = row_losses[[0, 2, 4]].mean().item()
    assert abs(synced - rank_zero_only) > 1e-3 * synced, "the test could not tell synced from unsynced"

    with (run_dir / "csv" / "metrics.csv").open() as metrics_file:
        rows = [row for row in csv.DictReader(metrics_file) if row.get("val/loss")]
    assert [float(row["epoch"]) for row in rows] == [0, 1], "one metrics file, one row per epoch: rank 0 only"
    assert abs(float(rows[-1]["val/loss"]) - synced) <= 1e-4 * synced, (rows[-1]["val/loss"], synced, rank_zero_only)

    # rank 1's own Hydra log, named by Lightning's launcher
    assert files_below(run_dir) == sorted([*DDP_RUN_DIR_FILES, "train_ddp_process_1.log"])


def test_submitit_local_runs_a_sweep_as_separate_jobs(tmp_path: Path) -> None:
    """``hydra/launcher=local``: each sweep job is pickled and run by submitit, as on SLURM."""
    run_train(
        "-m",
        "hydra/launcher=local",
        "task=least_squares",
        "optimizer=sgd,adam",
        "trainer.max_epochs=1",
        "logger=none",
        "test=false",
        f"paths.log_dir={tmp_path}",
    )
    (sweep_dir,) = (tmp_path / "multirun").glob("*/*")
    assert len(list((sweep_dir / ".submitit").glob("*/*_result.pkl"))) == 2, "two submitit jobs ran"
    optimizers = []
    for job in ("0", "1"):
        (job_dir,) = sweep_dir.glob(f"{job}_*")  # e.g. 0_optimizer=sgd,...
        checkpoint = torch.load(job_dir / "checkpoints" / "last.ckpt", weights_only=True)
        assert checkpoint["epoch"] == 0
        optimizers.append(checkpoint["lesson_run"]["choices"]["optimizer"])
    assert optimizers == ["sgd", "adam"]


@pytest.mark.parametrize(
    ("accelerator", "gpus_per_node"),
    [("gpu", 4), ("auto", None), ("cpu", None)],  # sbatch refuses a GPU request on a partition without GPUs
)
def test_slurm_launcher_allocates_one_task_per_device(accelerator: str, gpus_per_node: int | None) -> None:
    """What a SLURM job would request for 2 nodes × 4 devices of DDP; no cluster is contacted."""
    from hydra import compose, initialize_config_dir

    overrides = ["hydra/launcher=slurm", "trainer=ddp", "trainer.devices=4", "trainer.num_nodes=2"]
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("train", [*overrides, f"trainer.accelerator={accelerator}"], return_hydra_config=True)
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("SlurmLauncher")
    assert (launcher.nodes, launcher.tasks_per_node, launcher.gpus_per_node) == (2, 4, gpus_per_node)


def test_slurm_launcher_without_sbatch_says_where_to_run(tmp_path: Path) -> None:
    """Off the cluster (no sbatch/srun on PATH): one line, not submitit's traceback; nothing is submitted."""
    environment = {**os.environ, "PATH": str(tmp_path)}  # a dir without Slurm's commands
    command = [sys.executable, "train.py", "-m", "hydra/launcher=slurm", "task=least_squares", "optimizer=sgd,adam"]
    command += [f"paths.log_dir={tmp_path / 'outputs'}"]
    result = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120, env=environment)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "error: hydra/launcher=slurm needs Slurm's sbatch and srun on PATH: run the sweep on the cluster's login "
        "node (or use hydra/launcher=local to run its jobs here)"
    ]
