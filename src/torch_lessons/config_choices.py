"""A choice that no config group has (``experiment=quickstrat``) is refused in one line.

The defaults lists name every group without ``optional``, so Hydra itself refuses an unknown choice
(an ``optional`` group would silently run the default instead), but it prints several lines and its
search path. ``exit_on_unknown_choice`` runs before ``@hydra.main`` and answers first, in one line,
using Hydra's own override parser and the options of Hydra's config repository (so plugin groups
such as ``hydra/launcher`` are known too), plus the configs of the directories that ``--config-dir`` and
``hydra.searchpath=[...]`` add (where README's "Extending" recipes may keep a user's own configs).
"""

from collections.abc import Iterator, Sequence
from importlib.resources import files
from pathlib import Path

from hydra import initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import ChoiceSweep, Override
from hydra.errors import HydraException


def chosen_names(override: Override) -> Iterator[str]:
    """The config names an override picks: one, each of a list's (``callbacks=[default,early_stopping]``),
    or each of a sweep's (``optimizer=sgd,adam``, ``callbacks=[default],[default,early_stopping]``)."""
    if override.is_delete():
        return
    values = list(override.sweep_iterator()) if isinstance(override.value(), ChoiceSweep) else [override.value()]
    for value in values:
        for name in value if isinstance(value, list) else [value]:
            if isinstance(name, str | int | float):
                yield str(name)


def added_config_dirs(arguments: Sequence[str], overrides: Sequence[Override]) -> list[Path]:
    """The directories ``--config-dir``/``-cd`` and ``hydra.searchpath=[file://…, pkg://…]`` add to the search path."""
    dirs: list[Path] = []
    for flag, value in zip(arguments, [*arguments[1:], ""], strict=True):
        if flag in ("--config-dir", "-cd"):
            dirs.append(Path(value))
        elif flag.startswith("--config-dir="):
            dirs.append(Path(flag.split("=", 1)[1]))
    for override in overrides:
        if override.get_key_element() == "hydra.searchpath" and isinstance(override.value(), list):
            for entry in override.value():
                scheme, _, where = str(entry).rpartition("://")
                dirs += package_dir(where) if scheme == "pkg" else [Path(where)]
    return dirs


def package_dir(name: str) -> list[Path]:
    """A ``pkg://`` entry's directory; none for a package that is not there (Hydra then says so itself)."""
    try:
        return [Path(str(files(name.replace("/", "."))))]
    except (ModuleNotFoundError, TypeError):
        return []


def added_options(dirs: Sequence[Path], group: str) -> list[str]:
    found = []
    for directory in dirs:
        found += [path.stem for path in (directory / group).glob("*.yaml")]
    return found


def unknown_choice(config_dir: Path, arguments: Sequence[str]) -> str | None:
    """``<group>=<name> is not a choice; choices: …`` for the first override that picks a config
    its group lacks, else None. Malformed overrides are left to Hydra's own message."""
    candidates = [argument for argument in arguments if "=" in argument and not argument.startswith("-")]
    if not candidates:
        return None
    try:
        overrides = OverridesParser.create().parse_overrides(candidates)
    except HydraException:
        return None
    added_dirs = added_config_dirs(arguments, overrides)
    with initialize_config_dir(config_dir=str(config_dir), version_base="1.3"):
        loader = GlobalHydra.instance().config_loader()
        for override in overrides:
            group = override.key_or_group
            options = sorted({*loader.get_group_options(group), *added_options(added_dirs, group)})
            if not options:
                continue  # not a config group, e.g. trainer.max_epochs=3
            for name in chosen_names(override):
                if name not in options:
                    return f"{group}={name} is not a choice; choices: {', '.join(options)}"
    return None


def exit_on_unknown_choice(config_dir: Path, arguments: Sequence[str]) -> None:
    """Exits with ``error: <one line>`` and status 1 when a command-line choice does not exist."""
    message = unknown_choice(config_dir, arguments)
    if message is not None:
        raise SystemExit(f"error: {message}")
