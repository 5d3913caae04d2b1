"""Train one experiment: `python train.py task=least_squares optimizer=adam`; add -m to sweep."""

import os
import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

from torch_lessons.config_choices import exit_on_unknown_choice
from torch_lessons.config_overrides import one_line_override_errors

os.environ.setdefault("PROJECT_ROOT", str(Path(__file__).resolve().parent))


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def main(cfg: DictConfig) -> float | None:
    # Imported here so that --help and config errors answer without loading torch and Lightning.
    from torch_lessons.errors import exit_on_config_error
    from torch_lessons.runs.config_tree import print_config_tree
    from torch_lessons.runs.job_record import run_and_record
    from torch_lessons.sweeps.parallel_jobs import limit_torch_threads
    from torch_lessons.training import train

    def run(cfg: DictConfig) -> dict[str, float]:
        print_config_tree(cfg)
        limit_torch_threads()
        return train(cfg)

    with exit_on_config_error():
        return run_and_record(cfg, run)  # under -m a failed job is recorded and the sweep goes on


if __name__ == "__main__":
    from torch_lessons.sweeps.interrupt import finish_interrupted_sweep

    exit_on_unknown_choice(Path(__file__).resolve().parent / "conf", sys.argv[1:])  # one line, not Hydra's
    with one_line_override_errors(), finish_interrupted_sweep():  # sweep signals: summary, one line, exit 128+signal
        main()
