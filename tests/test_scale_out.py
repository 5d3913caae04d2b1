"""The path past one process: Lightning DDP with 2 CPU processes (gloo), and sweeps through submitit."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from conftest import CONFIG_DIR, DDP_RUN_DIR_FILES, PROJECT_ROOT, files_below, run_command
from torch_lessons.evaluation import evaluate


def run_train(*overrides: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "train.py", *overrides], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.mark.slow  # 3 processes: ~12 s
def test_ddp_three_processes_count_every_example_once_and_only_rank_zero_writes(tmp_path: Path, compose_config) -> None:
    """least_squares' 5 points over 3 gloo ranks: training shards are padded as DistributedSampler pads
    them (2 rows each), validation and test shards are not (rows 0, 3 | 1, 4 | 2). The synced val and
    test metrics must equal a one-process evaluation of the same checkpoint; padding would count
    row 0 twice, and averaging the ranks' means would weigh row 2 double."""
    run_train(
        "task=least_squares",
        "trainer=ddp",
        "trainer.accelerator=cpu",
        "trainer.devices=3",
        "trainer.max_epochs=3",
        "logger=csv",
        f"paths.log_dir={tmp_path}",
    )
    (run_dir,) = (tmp_path / "runs").glob("*/*")  # ranks 1 and 2 wrote no run dir of their own
    checkpoints = run_dir / "checkpoints"
    (best,) = checkpoints.glob("epoch_*.ckpt")
    last = torch.load(checkpoints / "last.ckpt", weights_only=True)
    assert (last["epoch"], last["global_step"]) == (2, 3), "each rank trains on its 2 padded rows: 1 batch per epoch"
    assert sorted(last["state_dict"]) == ["net.a"], "the plain module's weights, no DDP wrapper"

    data = OmegaConf.load(CONFIG_DIR / "data" / "least_squares.yaml")
    inputs, targets = torch.tensor(data.inputs).float(), torch.tensor(data.targets).float()
    row_errors = ((inputs * last["state_dict"]["net.a"] - targets) ** 2).reshape(-1)
    exact, padded = row_errors.mean().item(), row_errors[[0, 3, 1, 4, 2, 0]].mean().item()
    mean_of_ranks = (row_errors[[0, 3]].mean() + row_errors[[1, 4]].mean() + row_errors[2]).item() / 3
    assert min(abs(exact - padded), abs(exact - mean_of_ranks)) > 1e-3 * exact, "the test could tell them apart"
    with (run_dir / "csv" / "metrics.csv").open() as metrics_file:
        rows = [row for row in csv.DictReader(metrics_file) if row.get("val/loss")]
    assert [float(row["epoch"]) for row in rows] == [0, 1, 2], "one metrics file, one row per epoch: rank 0 only"
    for name in ("val/loss", "val/mse"):
        assert float(rows[-1][name]) == pytest.approx(exact, rel=1e-5), (name, rows[-1][name], exact, padded)

    recorded = json.loads((run_dir / "result.json").read_text())["metrics"]
    one_process = evaluate(compose_config("eval", ["task=least_squares", f"ckpt_path={best}"]))
    for name in ("test/loss", "test/mse", "test/mae"):
        assert recorded[name] == pytest.approx(one_process[name], rel=1e-5), (name, recorded[name], one_process[name])

    # the other ranks' own Hydra logs, named by Lightning's launcher
    expected_files = [name for name in DDP_RUN_DIR_FILES if not name.startswith("checkpoints/epoch_")]
    expected_files += [f"checkpoints/{best.name}", "train_ddp_process_1.log", "train_ddp_process_2.log"]
    assert files_below(run_dir) == sorted(expected_files)


@pytest.mark.slow  # 6 processes: ~25 s
def test_more_processes_than_validation_rows_is_refused_in_one_line_before_training(tmp_path: Path) -> None:
    """least_squares' 5 points over 6 gloo ranks: rank 5 would validate nothing (Lightning then fails on
    that rank alone, and the others print gloo's tracebacks). Every rank refuses alike at setup; rank 0
    says it once."""
    command = ["train.py", "task=least_squares", "trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=6"]
    result = run_command(*command, f"paths.log_dir={tmp_path}")
    assert result.returncode == 1, result.stderr[-3000:]
    said = [line for line in result.stderr.splitlines() if line.startswith("error") or "Traceback" in line]
    assert said == [
        "error: the val split has 5 rows, fewer than the 6 processes (trainer.devices × trainer.num_nodes) "
        "that validate and test it without padding; use at most 5 processes"
    ]
    assert "Epoch" not in result.stdout and "Sanity" not in result.stdout, "refused before anything ran"


@pytest.mark.slow  # 2 submitit jobs: ~8 s
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
