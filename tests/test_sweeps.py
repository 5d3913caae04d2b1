"""Multiruns: failed jobs are recorded and the sweep goes on; the summary; parallel jobs; Optuna."""

import csv
import json
import math
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from lightning.pytorch.utilities.exceptions import SIGTERMException
from omegaconf import DictConfig, OmegaConf

from conftest import PROJECT_ROOT
from torch_lessons.errors import ConfigError
from torch_lessons.runs.job_record import run_and_record
from torch_lessons.sweeps.interrupt import SweepInterrupted
from torch_lessons.sweeps.parallel_jobs import threads_per_job
from torch_lessons.sweeps.summary import count_by_outcome, read_sweep, write_summary
from torch_lessons.sweeps.summary import main as summary_main
from torch_lessons.training import train


def run_train(*overrides: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "train.py", *overrides],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def fake_job(sweep_dir: Path, name: str, overrides: list[str], result: dict | None) -> None:
    job_dir = sweep_dir / name
    (job_dir / ".hydra").mkdir(parents=True)
    OmegaConf.save(OmegaConf.create(overrides), job_dir / ".hydra" / "overrides.yaml")
    if result is not None:
        (job_dir / "result.json").write_text(json.dumps(result))


def result(status: str, val_acc: float) -> dict:
    return {
        "status": status,
        "optimized_metric": "val/acc",
        "optimized_metric_mode": "max",
        "epochs": 3.0,
        "wall_time_s": 1.5,
        "metrics": {"val/acc": val_acc, "train/loss": 0.5, "test/acc": val_acc - 0.01, "epochs": 3.0},
    }


def test_summary_is_sorted_best_first_with_failures_last(tmp_path: Path) -> None:
    fake_job(tmp_path, "0_optimizer=sgd", ["optimizer=sgd", "debug=limit"], result("ok", 0.61))
    fake_job(tmp_path, "1_optimizer=adam", ["optimizer=adam", "debug=limit"], result("ok", 0.83))
    fake_job(tmp_path, "2_optimizer=adamw", ["optimizer=adamw", "debug=limit"], result("failed: ValueError: boom", 0.9))
    fake_job(tmp_path, "3_optimizer=sgd,lr=1", ["optimizer=sgd", "optimizer.lr=1", "debug=limit"], None)

    text = write_summary(tmp_path)

    table = [line for line in text.splitlines() if line.startswith("| ")]
    assert table[0] == "| job | overrides | train/loss | val/acc | test/acc | epochs | wall time (s) | status |"
    assert table[1] == "| --- | --- | --- | --- | --- | --- | --- | --- |"
    jobs = [line.split(" | ")[0].removeprefix("| ") for line in table[2:]]
    assert jobs == ["1_optimizer=adam", "0_optimizer=sgd", "2_optimizer=adamw", "3_optimizer=sgd,lr=1"]
    assert table[2] == "| 1_optimizer=adam | optimizer=adam | 0.5 | 0.83 | 0.82 | 3 | 1.5 | ok |"
    assert table[4].endswith("| failed: ValueError: boom |")
    assert table[5].endswith("| not finished (no result.json) |")
    assert "best first by val/acc (max)" in text and "Overrides shared by all jobs: debug=limit" in text
    assert (tmp_path / "summary.md").read_text() == text
    with open(tmp_path / "summary.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert [row["job"] for row in rows] == jobs
    assert rows[0]["overrides"] == "optimizer=adam debug=limit" and float(rows[0]["val/acc"]) == 0.83


def test_summary_command_on_a_sweep_dir(tmp_path: Path, capsys) -> None:
    fake_job(tmp_path, "0", ["optimizer=sgd"], result("ok", 0.5))
    assert summary_main([str(tmp_path)]) == 0
    assert "| 0 | optimizer=sgd |" in capsys.readouterr().out
    assert summary_main([str(tmp_path / "0" / ".hydra")]) == 2
    assert "holds no job dirs" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("n_jobs", "cores", "threads"), [(-1, 2, 1), (2, 8, 4), (1, 4, 4), (3, 2, 1), (-2, 8, 1), (-5, 8, 2)]
)
def test_parallel_jobs_share_the_cores(n_jobs: int, cores: int, threads: int) -> None:
    assert threads_per_job(n_jobs, cores) == threads


def test_single_run_failure_is_recorded_and_raised(compose_config) -> None:
    cfg = compose_config("train", ["task=fruit_yield", "loss=cross_entropy"])
    with pytest.raises(ConfigError):
        run_and_record(cfg, train)
    recorded = json.loads((Path(cfg.paths.output_dir) / "result.json").read_text())
    assert recorded["status"] == "failed: loss=cross_entropy does not fit task=fruit_yield; losses that fit: mse"


def test_optimized_metric_must_be_logged(compose_config) -> None:
    cfg = compose_config("train", ["task=least_squares", "debug=fast_dev_run", "optimized_metric=val/acc"])
    with pytest.raises(ConfigError, match=r"^optimized_metric=val/acc is not logged by this run; logged: .*val/loss"):
        run_and_record(cfg, train)


def test_optimized_metric_mode_is_checked_before_training(compose_config) -> None:
    cfg = compose_config("train", ["task=least_squares", "optimized_metric_mode=maximum"])
    with pytest.raises(ConfigError, match=r"^optimized_metric_mode=maximum is not one of: max, min$"):
        train(cfg)
    assert not (Path(cfg.paths.output_dir) / "checkpoints").exists(), "refused before anything was trained"


def test_multirun_goes_on_after_failed_jobs_and_summarizes(tmp_path: Path) -> None:
    """Four jobs side by side under the joblib launcher: a good lr, a diverging lr, and a loss that
    does not fit the task; the sweep finishes, and summary.md ranks the good job first."""
    result = run_train(
        "-m",
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        "task=least_squares",
        "logger=none",
        "loss=mse,cross_entropy",
        "optimizer.lr=0.01,1e9",
        f"paths.log_dir={tmp_path}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (sweep_dir,) = tmp_path.glob("multirun/*/*")
    statuses = {}
    for result_file in sweep_dir.glob("*/result.json"):
        statuses[result_file.parent.name] = json.loads(result_file.read_text())["status"]
    diverged = statuses.pop("1_logger=none,loss=mse,optimizer.lr=1000000000.0,task=least_squares")
    assert diverged.startswith("failed: loss became ") and "optimizer.lr=1e+09: try 10× smaller" in diverged
    assert statuses == {
        "0_logger=none,loss=mse,optimizer.lr=0.01,task=least_squares": "ok",
        "2_logger=none,loss=cross_entropy,optimizer.lr=0.01,task=least_squares": (
            "failed: loss=cross_entropy does not fit task=least_squares; losses that fit: mse"
        ),
        "3_logger=none,loss=cross_entropy,optimizer.lr=1000000000.0,task=least_squares": (
            "failed: loss=cross_entropy does not fit task=least_squares; losses that fit: mse"
        ),
    }
    summary = (sweep_dir / "summary.md").read_text()
    assert summary in result.stdout
    assert "├── " not in result.stdout, "under -m each job's tree goes only to its config_tree.txt"
    for number in range(4):
        assert re.search(rf"Job {number}: task=least_squares .* -> {sweep_dir}/{number}_logger=none,", result.stdout)
    rows = [line for line in summary.splitlines() if line.startswith("| ")][2:]
    assert rows[0].startswith("| 0_logger=none,loss=mse,optimizer.lr=0.01") and rows[0].endswith("| ok |")
    threads = threads_per_job(2, os.cpu_count() or 1)
    for log_file in sweep_dir.glob("*/train.log"):
        assert f"(hydra.launcher.n_jobs=2): {threads} torch thread(s) per job" in log_file.read_text()


def two_optuna_trials(tmp_path: Path) -> list[str]:
    """A 2-trial search on the sample, one fast_dev_run step each, writing below ``tmp_path``."""
    return [
        "hparams_search=fashion_mnist_optuna",
        "hydra.sweeper.n_trials=2",
        "debug=fast_dev_run",
        "logger=none",
        "data.source=sample",
        f"paths.log_dir={tmp_path}",
        f"paths.data_dir={tmp_path / 'data'}",
    ]


@pytest.mark.slow  # a 3-trial search in a subprocess: ~8 s
def test_optuna_search_returns_val_acc_to_tpe(tmp_path: Path) -> None:
    result = run_train(*two_optuna_trials(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    (sweep_dir,) = tmp_path.glob("multirun/*/*")
    best = OmegaConf.load(sweep_dir / "optimization_results.yaml")
    assert set(best.best_params) == {"optimizer.lr", "optimizer", "data.batch_size"}
    values = []
    for result_file in sorted(sweep_dir.glob("*/result.json")):
        recorded = json.loads(result_file.read_text())
        assert recorded["status"] == "ok" and recorded["optimized_metric"] == "val/acc"
        values.append(recorded["metrics"]["val/acc"])
    assert len(values) == 2 and math.isclose(best.best_value, max(values))
    assert "best first by val/acc (max)" in (sweep_dir / "summary.md").read_text()


@pytest.mark.slow  # a fault-injection sweep: ~10 s
def test_optuna_search_whose_every_trial_fails_ends_in_one_line_with_its_summary(tmp_path: Path) -> None:
    """Each trial fails inside its job (a net whose output does not fit the task, found with the data), so
    Optuna completes no trial: one line and the summary of the failed trials, not Optuna's traceback."""
    result = run_train(*two_optuna_trials(tmp_path), "model.layer_sizes=[784,16,5]")
    assert result.returncode == 1, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("error: every trial of the Optuna search failed (e.g. failed: model="), last_line
    (sweep_dir,) = tmp_path.glob("multirun/*/*")
    assert last_line.endswith(f"summary: {sweep_dir / 'summary.md'}")
    assert (sweep_dir / "summary.md").read_text().count("failed: model=") == 2


def fails_with(error: BaseException) -> Callable[[DictConfig], dict[str, float]]:
    def train_that_fails(cfg: DictConfig) -> dict[str, float]:
        raise error

    return train_that_fails


def test_multirun_job_failure_is_recorded_not_raised(compose_config) -> None:
    cfg = compose_config("train", ["task=least_squares", "hydra.mode=MULTIRUN"])
    assert run_and_record(cfg, fails_with(RuntimeError("CUDA out of memory.\nTried to allocate"))) is None
    recorded = json.loads((Path(cfg.paths.output_dir) / "result.json").read_text())
    assert recorded["status"] == "failed: RuntimeError: CUDA out of memory."


@pytest.mark.parametrize(
    ("interruption", "name"),
    [(SystemExit(1), "SystemExit"), (KeyboardInterrupt(), "KeyboardInterrupt"), (SIGTERMException(), "SIGTERM")],
)
def test_interrupting_a_job_stops_the_sweep(compose_config, interruption: BaseException, name: str) -> None:
    cfg = compose_config("train", ["task=least_squares", "hydra.mode=MULTIRUN"])
    with pytest.raises(SweepInterrupted):  # plain, so that a joblib parent unpickles it without importing Lightning
        run_and_record(cfg, fails_with(interruption))
    recorded = json.loads((Path(cfg.paths.output_dir) / "result.json").read_text())
    assert recorded["status"] == f"interrupted ({name})"


def test_summary_keeps_the_other_rows_when_a_record_is_broken(tmp_path: Path, capsys) -> None:
    fake_job(tmp_path, "0_optimizer=sgd", ["optimizer=sgd"], result("ok", 0.61))
    fake_job(tmp_path, "1_optimizer=adam", ["optimizer=adam"], None)
    (tmp_path / "1_optimizer=adam" / "result.json").write_text('{"status": "ok", "metr')
    fake_job(tmp_path, "2_optimizer=adamw", ["optimizer=adamw"], {"status": "ok"})
    assert summary_main([str(tmp_path)]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")][2:]
    assert rows[0].startswith("| 0_optimizer=sgd | optimizer=sgd |") and rows[0].endswith("| ok |")
    assert rows[1].endswith(
        "| unreadable record: result.json: Unterminated string starting at: line 1 column 18 (char 17) |"
    )
    assert rows[2].endswith("| unreadable record: result.json has no 'metrics' entry |")


def test_summary_of_an_interrupted_sweep_lists_planned_jobs_never_started(tmp_path: Path) -> None:
    planned = [
        {"num": n, "dir": f"{n}_optimizer={name}", "overrides": [f"optimizer={name}"]}
        for n, name in enumerate(["sgd", "adam", "adamw"])
    ]
    OmegaConf.save(OmegaConf.create({"jobs": planned}), tmp_path / "planned_jobs.yaml")
    fake_job(tmp_path, "0_optimizer=sgd", ["optimizer=sgd"], result("ok", 0.6))
    fake_job(tmp_path, "1_optimizer=adam", ["optimizer=adam"], None)  # killed before it wrote its record
    (tmp_path / ".interrupted").write_text("SIGTERM\n")
    rows = read_sweep(tmp_path)
    assert [(row.job, row.status) for row in rows] == [
        ("0_optimizer=sgd", "ok"),
        ("1_optimizer=adam", "interrupted (no result.json)"),
        ("2_optimizer=adamw", "not started"),
    ]
    assert count_by_outcome(rows) == {"finished": 1, "interrupted": 1, "not started": 1}


@pytest.mark.parametrize(
    "arguments",
    [
        ["optimizer=sgd,adam,adamw", "loss=mse"],
        ["optimizer.lr=0.1,0.01", "optimizer=sgd", "optimizer=adam,adamw"],  # a key given twice: the later wins
        ["seed=range(1,4)", "+trainer.max_epochs=2,3", "data.batch_size=choice(8,16)"],
        ["task=least_squares"],
    ],
)
def test_the_sweep_plan_is_the_basic_sweepers_cross_product(arguments: list[str]) -> None:
    """The plan's jobs (sweeps/plan.py, from Hydra's public override parser) in the order Hydra's basic
    sweeper launches them; its own private splitter is the oracle here."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from torch_lessons.sweeps.plan import cross_product

    overrides = OverridesParser.create().parse_overrides(arguments)
    (expected,) = BasicSweeper.split_arguments(overrides, max_batch_size=None)
    assert cross_product(overrides) == [list(job) for job in expected]
