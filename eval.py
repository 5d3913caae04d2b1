"""Test a saved checkpoint and print predictions: `python eval.py ckpt_path=<path/to/last.ckpt>`."""

import os
from pathlib import Path

import hydra
from omegaconf import DictConfig

from torch_lessons.entry_point import run_entry_point

os.environ.setdefault("PROJECT_ROOT", str(Path(__file__).resolve().parent))


@hydra.main(version_base="1.3", config_path="conf", config_name="eval")
def main(cfg: DictConfig) -> None:
    from torch_lessons.errors import exit_on_config_error
    from torch_lessons.evaluation import evaluate

    with exit_on_config_error():
        evaluate(cfg)


if __name__ == "__main__":
    run_entry_point(main, __file__)
