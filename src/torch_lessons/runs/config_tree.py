"""At the start of a run, the composed config as a tree: what will run, before it runs.

Printed with rich (one branch per group of conf/train.yaml's defaults list, in that order) and saved
as ``config_tree.txt`` in the run dir next to Hydra's ``.hydra/config.yaml``; under ``-m`` only saved.
"""

import logging
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from lightning.fabric.utilities.rank_zero import rank_zero_only
from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.syntax import Syntax
from rich.tree import Tree

log = logging.getLogger(__name__)

TREE_FILE = "config_tree.txt"


def config_tree(cfg: DictConfig) -> Tree:
    """Groups (data, model, ...) as branches with their YAML; plain top-level values in one branch."""
    tree = Tree("config", guide_style="dim")
    values = OmegaConf.create({key: cfg[key] for key in cfg if not OmegaConf.is_dict(cfg[key])})
    groups = [(key, cfg[key]) for key in cfg if OmegaConf.is_dict(cfg[key])]
    for name, node in [*groups, ("run", values)]:
        if node:
            yaml = OmegaConf.to_yaml(node, resolve=True).rstrip()
            tree.add(f"[bold]{name}[/bold]").add(Syntax(yaml, "yaml", theme="ansi_dark"))
    return tree


@rank_zero_only
def print_config_tree(cfg: DictConfig) -> None:
    """Writes the tree (without colours) to ``<run dir>/config_tree.txt`` and prints it; a job of a sweep
    (``-m``) prints one line instead (its number, overrides and run dir): a tree per job would bury the
    sweep's output."""
    tree = config_tree(cfg)
    output_dir = Path(cfg.paths.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    with open(output_dir / TREE_FILE, "w") as file:
        Console(file=file, color_system=None, width=120).print(tree)
    hydra_config = HydraConfig.get()
    if hydra_config.mode == RunMode.MULTIRUN:
        log.info("Job %s: %s -> %s", hydra_config.job.num, " ".join(hydra_config.overrides.task), output_dir)
    else:
        Console().print(tree)
