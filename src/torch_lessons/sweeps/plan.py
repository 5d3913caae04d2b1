"""A sweep's jobs, known before the first one starts: written to ``<sweep dir>/planned_jobs.yaml``,
and refused in one line when two of them would write into the same job dir.

The plan lets the summary list the jobs an interrupted sweep never started. Hydra's basic sweeper
knows all its jobs up front (the cross product of the ``-m`` values); a sweeper that chooses jobs as
it goes (Optuna) has no plan, and its job dirs must then be told apart by ``${hydra.job.num}``.
"""

import itertools
import sys
from pathlib import Path
from typing import Any

from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf, open_dict

from torch_lessons.sweeps.interrupt import watch_sweep

PLAN_FILE = "planned_jobs.yaml"
BASIC_SWEEPER = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"  # the default hydra.sweeper._target_


def planned_jobs(config: DictConfig) -> list[dict[str, Any]] | None:
    """Each job's number, dir (relative to the sweep dir) and overrides, composed as the basic
    launcher composes them; None for sweepers that pick their jobs while they run."""
    if config.hydra.sweeper.get("_target_") != BASIC_SWEEPER:
        return None
    loader = GlobalHydra.instance().config_loader()
    params = [f"{key}={value}" for key, value in (config.hydra.sweeper.get("params") or {}).items()]
    arguments = params + list(config.hydra.overrides.task)
    overrides = OverridesParser.create(config_loader=loader).parse_overrides(arguments)
    job_overrides = cross_product(overrides)
    if job_overrides is None:
        return None  # the basic sweeper refuses it itself
    jobs = []
    for number, overrides_of_job in enumerate(job_overrides):
        job_config = loader.load_sweep_config(config, list(overrides_of_job))
        with open_dict(job_config):
            job_config.hydra.job.num = job_config.hydra.job.id = number
        jobs.append({"num": number, "dir": str(job_config.hydra.sweep.subdir), "overrides": list(overrides_of_job)})
    return jobs


def cross_product(overrides: list[Override]) -> list[list[str]] | None:
    """The basic sweeper's jobs, in its order: the cross product of each key's values, a later override
    of a key replacing an earlier one (the sweeper's ``params``, then the command line). None for a
    sweep that is not a list of values (``interval(...)``), which only other sweepers take."""
    values_by_key: dict[str, list[str]] = {}
    for override in overrides:
        key = override.get_key_element()
        if not override.is_sweep_override():
            values_by_key[key] = [f"{key}={override.get_value_element_as_str()}"]
        elif override.is_discrete_sweep():
            values_by_key[key] = [f"{key}={value}" for value in override.sweep_string_iterator()]
        else:
            return None
    return [list(job) for job in itertools.product(*values_by_key.values())]


def subdir_pattern(config: DictConfig) -> str:
    return str(OmegaConf.to_container(config.hydra.sweep, resolve=False)["subdir"])


def job_dir_collision(config: DictConfig, jobs: list[dict[str, Any]] | None) -> str | None:
    """The refusal for two jobs sharing a dir (they would overwrite each other's result.json,
    config and checkpoints), or None when every job gets its own."""
    pattern = subdir_pattern(config)
    if jobs is None:
        if "hydra.job.num" in pattern or "hydra.job.id" in pattern:
            return None
        return (
            f"hydra.sweep.subdir={pattern}: this sweeper picks its jobs as it runs, so their dirs must differ by "
            "${hydra.job.num}; include it (the default is ${hydra.job.num}_${hydra.job.override_dirname})"
        )
    first_with_dir: dict[str, dict[str, Any]] = {}
    for job in jobs:
        earlier = first_with_dir.setdefault(job["dir"], job)
        if earlier is not job:
            first, second = (
                " ".join(item for item in one["overrides"] if item not in other["overrides"])
                for one, other in ((earlier, job), (job, earlier))
            )
            return (
                f"hydra.sweep.subdir={pattern} puts job {earlier['num']} ({first}) and job {job['num']} ({second}) "
                f"into the same dir {job['dir']}; include ${{hydra.job.num}} in it"
            )
    return None


def fixed_values_refusal(config: DictConfig) -> str | None:
    """For a sweeper without a plan (Optuna): the config checks on the values every job shares, so that a
    bad fixed value is one line before the search instead of a failure in every trial."""
    from torch_lessons.config_checks import check_config
    from torch_lessons.errors import ConfigError

    loader = GlobalHydra.instance().config_loader()
    parsed = OverridesParser.create(config_loader=loader).parse_overrides(list(config.hydra.overrides.task))
    fixed = [override.input_line for override in parsed if not override.is_sweep_override()]
    try:
        job_config = loader.load_sweep_config(config, fixed)
    except Exception:  # fixed values that compose only with a searched choice (e.g. optimizer=adam): left to the jobs
        return None
    HydraConfig.instance().set_config(job_config)
    try:
        check_config(job_config)
    except ConfigError as error:
        return f"{error} (every job of this search would fail on it)"
    return None


def read_plan(sweep_dir: Path) -> list[dict[str, Any]]:
    """The planned jobs of a sweep dir ([] when it has no plan, e.g. an Optuna search)."""
    path = sweep_dir / PLAN_FILE
    if not path.is_file():
        return []
    return OmegaConf.to_container(OmegaConf.load(path))["jobs"]


class PlanSweep(Callback):
    """Hydra callback: before the first job, refuses colliding job dirs, writes the plan, and
    watches for SIGTERM/SIGINT so that an interrupted sweep still ends with its summary."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        jobs = planned_jobs(config)
        refusal = job_dir_collision(config, jobs) or (fixed_values_refusal(config) if jobs is None else None)
        if refusal:
            sys.exit(f"error: {refusal}")
        sweep_dir = Path(config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        if jobs is not None:
            OmegaConf.save(OmegaConf.create({"jobs": jobs}), sweep_dir / PLAN_FILE)
        watch_sweep(sweep_dir)
