"""A choice that no config group has (``experiment=quickstrat``) is refused in one line.

The defaults lists name every group without ``optional``, so Hydra itself refuses an unknown choice
(an ``optional`` group would silently run the default instead), but it prints several lines and its
search path. ``exit_on_unknown_choice`` runs before ``@hydra.main`` and answers first, in one line,
using Hydra's own override parser and the options of Hydra's config repository (so plugin groups
such as ``hydra/launcher`` are known too).
"""

from collections.abc import Iterator, Sequence
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
    with initialize_config_dir(config_dir=str(config_dir), version_base="1.3"):
        loader = GlobalHydra.instance().config_loader()
        for override in overrides:
            options = loader.get_group_options(override.key_or_group)
            if not options:
                continue  # not a config group, e.g. trainer.max_epochs=3
            for name in chosen_names(override):
                if name not in options:
                    return f"{override.key_or_group}={name} is not a choice; choices: {', '.join(options)}"
    return None


def exit_on_unknown_choice(config_dir: Path, arguments: Sequence[str]) -> None:
    """Exits with ``error: <one line>`` and status 1 when a command-line choice does not exist."""
    message = unknown_choice(config_dir, arguments)
    if message is not None:
        raise SystemExit(f"error: {message}")
