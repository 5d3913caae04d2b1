"""A Hydra callback that checks a single run's config before Hydra writes anything.

Hydra creates the run dir, saves ``.hydra/`` and opens ``train.log`` before it calls ``train.py``'s main;
a refusal found there would leave that run dir behind, after the config tree was printed. Hydra calls
``on_run_start`` with the composed config before all of that, so a refused run prints only ``error: …``
and writes nothing. Under ``-m`` each job checks its own config inside the job instead (``train`` calls
``check_config``), so that a refused job is recorded in the sweep's summary like any failed job.
"""

import copy
from collections.abc import Callable
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, open_dict


def check_before_training(cfg: DictConfig) -> None:
    """What ``train`` checks before it builds anything: the config's values and keys, and the checkpoint
    ``ckpt_path`` resumes from (read once more by the run; a resumed checkpoint is small next to a run)."""
    from torch_lessons.checkpoints.resume import resolve_resume
    from torch_lessons.config_checks import check_config

    check_config(cfg)
    resolve_resume(cfg)


def check_before_evaluation(cfg: DictConfig) -> None:
    from torch_lessons.evaluation import check_before_evaluation

    check_before_evaluation(cfg)


def check_before_loading(cfg: DictConfig) -> None:
    """predict.py and export.py: the keys of the groups they compose, and that a checkpoint is named (the
    checkpoint itself is checked when it is loaded, before anything is predicted or exported)."""
    from torch_lessons.checkpoints.trained_module import check_checkpoint_named
    from torch_lessons.config_keys import check_known_keys

    check_known_keys(cfg)
    check_checkpoint_named(cfg)


def check_before_export(cfg: DictConfig) -> None:
    from torch_lessons.exporting import check_format

    check_before_loading(cfg)
    check_format(cfg.format)


# Per entry point (conf/<name>.yaml): what it checks before it builds anything.
CHECKS: dict[str, Callable[[DictConfig], None]] = {
    "train": check_before_training,
    "eval": check_before_evaluation,
    "predict": check_before_loading,
    "export": check_before_export,
}


class CheckConfigFirst(Callback):
    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        # Imported here so that Hydra's --help and --cfg do not load torch and Lightning.
        from torch_lessons.errors import exit_on_config_error

        HydraConfig.instance().set_config(config)  # the checks read the choices (loss=..., optimizer=...)
        task_config = copy.deepcopy(config)
        with open_dict(task_config):
            del task_config["hydra"]  # as Hydra hands it to the task function
        with exit_on_config_error():
            CHECKS[config.hydra.job.config_name](task_config)
