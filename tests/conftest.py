"""Composes conf/train.yaml the way train.py does, with every output sent to pytest's temp dirs."""

import itertools
import os
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


def assert_same_weights(first: dict[str, torch.Tensor], second: dict[str, torch.Tensor]) -> None:
    """Bit-identical state dicts, naming the first tensor that differs."""
    assert first.keys() == second.keys()
    for name in first:
        assert torch.equal(first[name], second[name]), name
