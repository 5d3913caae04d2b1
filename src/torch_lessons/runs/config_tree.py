"""At the start of a run, the composed config as a tree: what will run, before it runs.

Printed with rich (one branch per group of conf/train.yaml's defaults list, in that order) and saved
as ``config_tree.txt`` in the run dir next to Hydra's ``.hydra/config.yaml``.
"""

from pathlib import Path

from lightning.fabric.utilities.rank_zero import rank_zero_only
from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.syntax import Syntax
from rich.tree import Tree

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
    """Prints the tree and writes it (without colours) to ``<run dir>/config_tree.txt``."""
    tree = config_tree(cfg)
    Console().print(tree)
    output_dir = Path(cfg.paths.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    with open(output_dir / TREE_FILE, "w") as file:
        Console(file=file, color_system=None, width=120).print(tree)
