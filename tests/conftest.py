"""Composes conf/train.yaml the way train.py does, with every output sent to pytest's temp dirs."""

import itertools
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf, open_dict

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = PROJECT_ROOT / "conf"
os.environ.setdefault("PROJECT_ROOT", str(PROJECT_ROOT))

ComposeConfig = Callable[..., DictConfig]


def task_losses() -> dict[str, list[str]]:
    """Each task's fitting losses, read from conf/task/*.yaml so new tasks join the test matrix."""
    return {path.stem: list(OmegaConf.load(path).task.losses) for path in sorted((CONFIG_DIR / "task").glob("*.yaml"))}


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data dir for the session: the bundled sample is unpacked into it once."""
    return tmp_path_factory.mktemp("data")


def make_composer(root: Path, data_dir: Path) -> ComposeConfig:
    """``compose("train", ["task=least_squares"])`` → the config train.py would receive.

    Offline and on the CPU: the bundled Fashion-MNIST sample, each run's outputs in its own dir
    under ``root``. Hydra's runtime config is installed as @hydra.main does, so ``HydraConfig.get()``
    works in the code.
    """

    run_dirs = (root / f"run{number}" for number in itertools.count())

    def compose_with(config_name: str = "train", overrides: list[str] = ()) -> DictConfig:
        GlobalHydra.instance().clear()
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            cfg = compose(
                config_name,
                overrides=[
                    "trainer.accelerator=cpu",
                    f"paths.data_dir={data_dir}",
                    f"paths.log_dir={root / 'outputs'}",
                    f"paths.output_dir={next(run_dirs)}",
                    *overrides,
                ],
                return_hydra_config=True,
            )
        HydraConfig.instance().set_config(cfg)
        with open_dict(cfg):
            del cfg.hydra
            if "source" in cfg.data and not any(item.startswith("data.source=") for item in overrides):
                cfg.data.source = "sample"
        return cfg

    return compose_with


@pytest.fixture
def compose_config(tmp_path: Path, data_dir: Path) -> ComposeConfig:
    """A composer (see ``make_composer``) whose runs live under the test's ``tmp_path``."""
    yield make_composer(tmp_path, data_dir)
    GlobalHydra.instance().clear()


def run_command(*arguments: str) -> subprocess.CompletedProcess:
    """``python <script> <overrides>`` in the project root, as a user runs it; its output captured."""
    return subprocess.run([sys.executable, *arguments], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)


def run_script(*arguments: str) -> subprocess.CompletedProcess:
    """``run_command`` that must succeed."""
    result = run_command(*arguments)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.fixture(scope="session")
def session_compose(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> ComposeConfig:
    """A composer for what several test files share, such as a checkpoint trained once per session."""
    return make_composer(tmp_path_factory.mktemp("session"), data_dir)


SMALL_CNN = ["model=small_cnn", "model.channels=[8,16]"]  # small_cnn, narrow enough to train in a second


def train_until_interrupted(cfg: DictConfig) -> int | str | None:
    """Trains ``cfg`` until a signal stops it (train exits); returns the exit code. Ctrl+C's handler is put
    back afterwards, since Lightning ignores Ctrl+C after the first one."""
    from torch_lessons.training import train

    sigint_handler = signal.getsignal(signal.SIGINT)
    try:
        with pytest.raises(SystemExit) as exit_info:
            train(cfg)
    finally:
        signal.signal(signal.SIGINT, sigint_handler)
    return exit_info.value.code


@pytest.fixture(scope="session")
def small_cnn_checkpoint(session_compose: ComposeConfig) -> Path:
    """``SMALL_CNN`` (with BatchNorm, and needing N×1×28×28 inputs) after 16 batches of the bundled sample."""
    from torch_lessons.training import train

    overrides = ["trainer.max_epochs=1", "data.batches_per_group=8", "+trainer.limit_train_batches=2"]
    cfg = session_compose("train", [*SMALL_CNN, *overrides, "logger=none", "test=false"])
    train(cfg)
    return Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt"


def assert_same_weights(first: dict[str, torch.Tensor], second: dict[str, torch.Tensor]) -> None:
    """Bit-identical state dicts, naming the first tensor that differs."""
    assert first.keys() == second.keys()
    for name in first:
        assert torch.equal(first[name], second[name]), name


# What a fruit_yield DDP run with logger=csv and test=false leaves in its run dir, all from rank 0.
DDP_RUN_DIR_FILES = [
    ".hydra/config.yaml",
    ".hydra/hydra.yaml",
    ".hydra/overrides.yaml",
    "checkpoints/epoch_001.ckpt",
    "checkpoints/last.ckpt",
    "config_tree.txt",
    "csv/hparams.yaml",
    "csv/metrics.csv",
    "result.json",
    "train.log",
]


def files_below(directory: Path) -> list[str]:
    """Every file below ``directory``, as sorted relative paths."""
    return sorted(str(path.relative_to(directory)) for path in directory.rglob("*") if path.is_file())
