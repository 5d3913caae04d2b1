"""Bad choices are refused before training with one line that names the key and what is allowed."""

import subprocess
import sys

import pytest
import torch
from hydra.errors import HydraException

from conftest import PROJECT_ROOT
from torch_lessons.errors import ConfigError
from torch_lessons.training import train


def test_loss_that_does_not_fit_the_task(compose_config) -> None:
    cfg = compose_config("train", ["task=fruit_yield", "loss=cross_entropy"])
    with pytest.raises(ConfigError, match="^loss=cross_entropy does not fit task=fruit_yield; losses that fit: mse$"):
        train(cfg)


def test_classification_loss_list_is_named(compose_config) -> None:
    cfg = compose_config("train", ["loss=mse"])
    with pytest.raises(ConfigError, match="losses that fit: cross_entropy, multi_margin, kl_div"):
        train(cfg)


def test_unknown_choice_lists_the_available_ones(compose_config) -> None:
    with pytest.raises(HydraException, match=r"(?s)Could not find 'optimizer/rmsprop'.*adam.*adamw.*sgd"):
        compose_config("train", ["optimizer=rmsprop"])


@pytest.mark.parametrize(
    ("command", "line"),
    [
        (
            ["train.py", "task=fruit_yield", "loss=cross_entropy"],
            "error: loss=cross_entropy does not fit task=fruit_yield; losses that fit: mse",
        ),
        (
            ["eval.py", "task=least_squares"],
            "error: ckpt_path is required: python eval.py ckpt_path=<run dir | .ckpt file | last> task=<its task>",
        ),
    ],
    ids=["train", "eval without ckpt_path"],
)
def test_scripts_print_one_line_not_a_traceback(tmp_path, command: list[str], line: str) -> None:
    result = subprocess.run(
        [sys.executable, *command, f"paths.log_dir={tmp_path}"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == line
    assert "Traceback" not in result.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_accelerator_the_machine_lacks(compose_config) -> None:
    cfg = compose_config("train", ["task=least_squares", "trainer=gpu", "trainer.accelerator=gpu"])
    with pytest.raises(ConfigError, match=r"^trainer.accelerator=gpu, .*; accelerators on this machine: auto, cpu"):
        train(cfg)
