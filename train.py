"""Train one experiment: `python train.py task=least_squares optimizer=adam`; add -m to sweep."""

import os
from pathlib import Path

import hydra
from omegaconf import DictConfig

from torch_lessons.entry_point import run_entry_point

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

    run_entry_point(main, __file__, around=finish_interrupted_sweep)  # a signal to a sweep: summary, exit 128+signal
