"""A key that nothing reads is refused in one line instead of being silently ignored.

``+trainer.max_epoch=3`` (for ``max_epochs``) or ``+scheduler.x=1`` merge into the composed config without a
word; Hydra's ``instantiate`` would refuse some of them only once the object is built, a ``_partial_`` optimizer
or scheduler only when it is called, and a key the project never looks at not at all. So every key is checked
against what reads it, before anything is built:

- an object built from ``_target_`` (data, model, trainer, each callback and logger, a scheduler's torch
  class, ...): the parameters of that class or function (``**kwargs`` accepts any key), plus the keys the
  project takes out before building it (``model.init_from``, ``model.freeze``);
- ``callbacks`` and ``logger``: named entries, each an object or null;
- ``task`` and ``paths``: the keys the project and the configs' interpolations read;
- the top level: the entry point's own settings (``conf/<name>.yaml``) and its config groups.

The message names the key, its value and the closest known key (or the known ones).
"""

import difflib
import functools
import importlib
import inspect
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from torch_lessons.assembly import FINE_TUNING_KEYS
from torch_lessons.errors import ConfigError

# Hydra's own keys in an object's config.
HYDRA_KEYS = frozenset({"_target_", "_partial_", "_convert_", "_recursive_", "_args_"})
# Groups of plain settings: the keys the code and the interpolations in conf/ read.
PLAIN_GROUPS = {
    "task": ("name", "losses", "monitor", "monitor_mode"),
    "paths": ("root_dir", "data_dir", "log_dir", "output_dir"),
}
# Groups of named objects, each entry built on its own (or null: left out).
COLLECTIONS = ("callbacks", "logger")
# Keys that assembly.py takes out of an object's config before building it (fine-tuning settings).
TAKEN_BEFORE_BUILDING = {"model": FINE_TUNING_KEYS}


def shown(value: Any) -> str:
    return str(value) if not isinstance(value, bool) else str(value).lower()


def first_leaf(key: str, value: Any) -> tuple[str, Any]:
    """``foo.bar.baz`` and its value for ``foo={bar: {baz: 1}}``: the key as a user typed it."""
    while isinstance(value, dict) and len(value) > 0:
        inner, value = next(iter(value.items()))
        key = f"{key}.{inner}"
    return key, value


def suggestion(key: str, prefix: str, known: Iterable[str]) -> str:
    """``did you mean <prefix>.<closest>?``, else the known keys."""
    known = sorted(known)
    close = difflib.get_close_matches(key, known, n=1)
    if close:
        return f"did you mean {prefix}{close[0]}?"
    return f"known: {', '.join(known)}" if known else "it takes none"


def refusal(prefix: str, key: str, value: Any, reader: str, known: Iterable[str]) -> str:
    leaf, leaf_value = first_leaf(f"{prefix}{key}", value)
    return f"{leaf}={shown(leaf_value)} is not a setting of {reader}; {suggestion(str(key), prefix, known)}"


def locate(path: str) -> Any:
    """The object a dotted ``_target_`` names, as Hydra finds it, with the missing part named in the error
    (Hydra's own ``get_object`` also logs a three-line error)."""
    parts = path.split(".")
    found = importlib.import_module(parts[0])
    for index, part in enumerate(parts[1:], start=1):
        if hasattr(found, part):
            found = getattr(found, part)
            continue
        module_name = ".".join(parts[: index + 1])
        try:
            found = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
            raise ImportError(f"{'.'.join(parts[:index])} has no {part}") from None
    return found


@functools.cache  # inspect.signature is most of this check's time, and a sweep asks for the same targets
def accepted_arguments(target: Any) -> frozenset[str] | None:
    """Keyword arguments ``target`` takes; None when it takes any (``**kwargs``) or says nothing."""
    try:
        parameters = inspect.signature(target).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(parameter.kind is inspect.Parameter.VAR_KEYWORD for parameter in parameters):
        return None
    return frozenset(p.name for p in parameters if p.kind is not inspect.Parameter.POSITIONAL_ONLY)


def unknown_object_key(node: Mapping[str, Any], prefix: str, taken: Iterable[str] = ()) -> str | None:
    """The first key of an object's config (and of the objects nested in it) that its target does not take."""
    target_name = node["_target_"]
    try:
        target = locate(str(target_name))
    except ImportError as error:
        return f"{prefix}_target_={target_name} cannot be imported: {error}"
    accepted = accepted_arguments(target)
    for key, value in node.items():
        if key in HYDRA_KEYS or key in taken:
            continue
        if accepted is not None and key not in accepted:
            return refusal(prefix, key, value, str(target_name), accepted | set(taken))
        for nested_prefix, nested in nested_objects(f"{prefix}{key}", value):
            message = unknown_object_key(nested, f"{nested_prefix}.")
            if message:
                return message
    return None


def nested_objects(key: str, value: Any) -> Iterable[tuple[str, Mapping[str, Any]]]:
    """Objects inside an argument: a dict with ``_target_`` or a list of them (e.g. ``trainer.plugins``)."""
    if isinstance(value, dict) and "_target_" in value:
        yield key, value
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, dict) and "_target_" in item:
                yield f"{key}.{index}", item


def unknown_collection_key(name: str, entries: Mapping[str, Any]) -> str | None:
    for entry_name, entry in entries.items():
        if entry is None:
            continue
        if isinstance(entry, dict) and "_target_" in entry:
            message = unknown_object_key(entry, f"{name}.{entry_name}.")
            if message:
                return message
            continue
        leaf, leaf_value = first_leaf(f"{name}.{entry_name}", entry)
        others = [other for other, value in entries.items() if isinstance(value, dict) and "_target_" in value]
        return (
            f"{leaf}={shown(leaf_value)} is not read: {name}.{entry_name} has no _target_; "
            f"{suggestion(entry_name, f'{name}.', others)}"
        )
    return None


def unknown_group_key(name: str, node: Mapping[str, Any], choices: Mapping[str, Any]) -> str | None:
    if name in PLAIN_GROUPS:
        for key, value in node.items():
            if key not in PLAIN_GROUPS[name]:
                return refusal(f"{name}.", key, value, name, PLAIN_GROUPS[name])
        return None
    if name in COLLECTIONS:
        return unknown_collection_key(name, node)
    taken = TAKEN_BEFORE_BUILDING.get(name, ())
    if "_target_" in node:
        return unknown_object_key(node, f"{name}.", taken)
    for key, value in node.items():
        if key not in taken:
            leaf, leaf_value = first_leaf(f"{name}.{key}", value)
            choice = choices.get(name)
            built = f"{name}={choice} builds nothing" if choice else f"{name} has no _target_"
            return f"{leaf}={shown(leaf_value)} is not read: {built}"
    return None


def entry_point_settings(hydra: DictConfig) -> set[str] | None:
    """The keys ``conf/<name>.yaml`` itself sets (``seed``, ``test``, ...); None where that file cannot be read
    (a job on a machine that does not see the launch's conf dir): the top level is then not checked."""
    source = next((s for s in hydra.runtime.config_sources if s.provider == "main" and s.schema == "file"), None)
    path = Path(source.path) / f"{hydra.job.config_name}.yaml" if source is not None else None
    if path is None or not path.is_file():
        return None
    return set(top_level_keys(path))


@functools.cache
def top_level_keys(path: Path) -> frozenset[str]:
    """Read once per process: the config checks run for every job of a sweep (and ~900 times in test_contracts)."""
    return frozenset(OmegaConf.to_container(OmegaConf.load(path))) - {"defaults"}


def unknown_key(cfg: DictConfig) -> str | None:
    """The refusal for the first key nothing reads, or None; needs Hydra's runtime config (``HydraConfig``)."""
    hydra = HydraConfig.get()
    groups = {name for name in hydra.runtime.choices if "/" not in name}  # data, model, ..., not hydra/launcher
    groups |= set(COLLECTIONS)  # a list choice (callbacks=[default,early_stopping]) is left out of Hydra's choices
    settings = entry_point_settings(hydra)
    values = OmegaConf.to_container(cfg, resolve=False)  # interpolations stay text: nothing is evaluated
    for name, node in values.items():
        if name == "hydra":
            continue
        if name in groups:
            message = unknown_group_key(name, node, hydra.runtime.choices) if isinstance(node, dict) else None
        elif settings is not None and name not in settings:
            message = refusal("", name, node, f"{hydra.job.config_name}.py", (settings | groups) - {"hydra"})
        else:
            message = None
        if message:
            return message
    return None


def check_known_keys(cfg: DictConfig) -> None:
    """Raises ConfigError naming the first key nothing reads (see ``unknown_key``)."""
    message = unknown_key(cfg)
    if message:
        raise ConfigError(message)
