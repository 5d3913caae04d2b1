"""Predict from a checkpoint: `python predict.py ckpt_path=<last.ckpt> inputs=<image file | dir | glob>`,
or for a table task `python predict.py task=fruit_yield ckpt_path=<ckpt> inputs=rows.csv` (or inputs=[[73,67,43]])."""

import os
from pathlib import Path

import hydra
from omegaconf import DictConfig

from torch_lessons.entry_point import run_entry_point

os.environ.setdefault("PROJECT_ROOT", str(Path(__file__).resolve().parent))


@hydra.main(version_base="1.3", config_path="conf", config_name="predict")
def main(cfg: DictConfig) -> None:
    from torch_lessons.errors import exit_on_config_error
    from torch_lessons.prediction import predict

    with exit_on_config_error():
        predict(cfg)


if __name__ == "__main__":
    run_entry_point(main, __file__)
