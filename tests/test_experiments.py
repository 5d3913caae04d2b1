"""Each lesson runs as `python train.py experiment=NAME` and prints what the lesson prints."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CONFIG_DIR, PROJECT_ROOT
from torch_lessons.training import train

EXPERIMENTS = sorted(path.stem for path in (CONFIG_DIR / "experiment").glob("*.yaml"))


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiment_composes(compose_config, experiment: str) -> None:
    cfg = compose_config("train", [f"experiment={experiment}"])
    assert cfg.task.name in {"fashion_mnist", "least_squares", "fruit_yield"}


def test_quickstart_is_the_tutorials_setup(compose_config, capsys) -> None:
    cfg = compose_config("train", ["experiment=quickstart"])
    assert (cfg.optimizer._target_, cfg.optimizer.lr, cfg.data.batch_size) == ("torch.optim.SGD", 1e-3, 64)
    assert (cfg.trainer.max_epochs, cfg.loss._target_) == (5, "torch.nn.CrossEntropyLoss")
    assert list(cfg.model.layer_sizes) == [784, 512, 512, 10] and cfg.data.validate_on_test
    assert not cfg.data.shuffle, "the tutorial's training DataLoader does not shuffle"

    train(compose_config("train", ["experiment=quickstart", "debug=limit", "logger=none"]))
    lines = capsys.readouterr().out.splitlines()
    epoch_lines = [line for line in lines if line.startswith("Epoch ") and " test: " in line]
    assert len(epoch_lines) == 2
    assert all(re.fullmatch(r"Epoch \d test: Accuracy: \d+\.\d%, Avg loss: \d\.\d{6}", line) for line in epoch_lines)


def test_least_squares_prints_the_loss_and_a(compose_config, capsys) -> None:
    train(compose_config("train", ["experiment=least_squares", "logger=none"]))
    lines = capsys.readouterr().out.splitlines()
    assert len([line for line in lines if re.match(r"Epoch \d+ val: Avg loss: ", line)]) == 10
    (learned,) = [line for line in lines if line.startswith("Learned ")]
    assert re.fullmatch(r"Learned net\.a = \[1[01]\.\d+\]", learned), learned


def test_fruit_yield_prints_w_and_b(compose_config, capsys) -> None:
    train(compose_config("train", ["experiment=fruit_yield", "logger=none"]))
    lines = capsys.readouterr().out.splitlines()
    assert len([line for line in lines if re.match(r"Epoch \d+ val: Avg loss: ", line)]) == 10
    learned = [line for line in lines if line.startswith("Learned ")]
    assert [line.split(" = ")[0] for line in learned] == ["Learned net.weight", "Learned net.bias"]


@pytest.mark.slow  # nine jobs under joblib: ~12 s, run by CI with the other slow ones
def test_loss_zoo_runs_nine_jobs_side_by_side(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "train.py",
            "experiment=loss_zoo",
            "debug=fast_dev_run",
            "data.source=sample",
            f"paths.log_dir={tmp_path}",
            f"paths.data_dir={tmp_path / 'data'}",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    job_dirs = sorted(path.name for path in tmp_path.glob("multirun/*/*/*") if path.is_dir())
    losses, optimizers = ["cross_entropy", "multi_margin", "kl_div"], ["sgd", "adam", "adamw"]
    expected = [
        f"{number}_debug=fast_dev_run,loss={loss},optimizer={optimizer}"
        for number, (loss, optimizer) in enumerate((loss, optimizer) for loss in losses for optimizer in optimizers)
    ]
    assert job_dirs == sorted(expected)
    assert result.stdout.count("Test: Accuracy: ") == 9
    (sweep_dir,) = tmp_path.glob("multirun/*/*")
    summary = (sweep_dir / "summary.md").read_text()
    assert summary in result.stdout and summary.count("| ok |") == 9
