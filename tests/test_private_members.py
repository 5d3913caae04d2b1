"""The package uses Lightning through its public API only: no ``obj._name`` that the package does not
define itself, no import of a private Lightning module or name. A private member would need a measured
reason, an entry in ALLOWED with that reason, and an upper bound on lightning in pyproject.toml."""

import ast
import re

from conftest import PROJECT_ROOT

SOURCE = PROJECT_ROOT / "src"
# "<private name>": "why it is needed and what it buys (measured)".
ALLOWED: dict[str, str] = {
    "_on_before_step": "modules/lean_steps.py plain_optimizer_step: counts trainer.global_step as "
    "LightningOptimizer.step() does, without Lightning's dispatch of on_before_optimizer_step to every "
    "callback; whole epochs go from 1.21x to about 1.05x the raw loop (README, Speed)",
    "_on_after_step": "the other half of the same count (see _on_before_step)",
}


def is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def own_private_names(trees: list[ast.Module]) -> set[str]:
    """Private names the package itself defines: functions, methods, classes, assigned attributes."""
    names = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and is_private(node.name):
                names.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) and is_private(node.attr):
                names.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and is_private(node.id):
                names.add(node.id)
    return names


def private_uses(sources: dict[str, str]) -> list[str]:
    """``file:line: what`` for each private member or Lightning module used but not defined in ``sources``."""
    trees = {name: ast.parse(text) for name, text in sources.items()}
    own = own_private_names(list(trees.values()))
    found = []
    for file_name, tree in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and is_private(node.attr) and node.attr not in own:
                found.append(f"{file_name}:{node.lineno}: .{node.attr}")
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("lightning"):
                private = [part for part in node.module.split(".") if is_private(part)]
                private += [alias.name for alias in node.names if is_private(alias.name)]
                found += [f"{file_name}:{node.lineno}: {node.module} {name}" for name in private]
    return [use for use in found if use.rsplit(" ", 1)[-1].lstrip(".") not in ALLOWED]


def test_the_package_touches_no_private_lightning_member() -> None:
    sources = {str(path.relative_to(SOURCE)): path.read_text() for path in sorted(SOURCE.rglob("*.py"))}
    assert private_uses(sources) == []


def test_an_allowed_private_member_comes_with_an_upper_bound_on_lightning() -> None:
    """A private member may change in any release: pip must refuse a Lightning the code was not tried with."""
    pyproject = (PROJECT_ROOT / "pyproject.toml").read_text()
    requirement = re.search(r'"lightning([^"]*)"', pyproject).group(1)
    assert not ALLOWED or "<" in requirement, f"lightning{requirement} has no upper bound"


def test_the_scan_finds_a_private_member() -> None:
    snippet = "from lightning.pytorch.loops import _utils\n\ndef run(trainer):\n    trainer._run_stage()\n"
    assert sorted(private_uses({"steps.py": snippet})) == [
        "steps.py:1: lightning.pytorch.loops _utils",
        "steps.py:4: ._run_stage",
    ]
