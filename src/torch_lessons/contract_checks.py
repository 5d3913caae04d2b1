"""A datamodule or module that breaks its contract (datamodules/contract.py, modules/contract.py) is refused in
one line naming what it lacks, before training, instead of an AttributeError deep inside a callback."""

import inspect
from typing import Protocol

from torch_lessons.errors import ConfigError


def protocol_members(protocol: type) -> list[str]:
    """The attributes and methods a Protocol (and the Protocols it extends) declares."""
    names: dict[str, None] = {}
    for part in reversed(protocol.__mro__):
        if Protocol in part.__mro__[1:]:  # the Protocols themselves, not Protocol, Generic or object
            names |= dict.fromkeys(getattr(part, "__annotations__", {}))
            names |= dict.fromkeys(name for name, value in vars(part).items() if callable(value) and name[0] != "_")
    return list(names)


def check_contract(instance: object, protocol: type, key: str) -> None:
    """Refuses a datamodule or module that lacks what the rest of the project reads from it, naming the
    members it lacks and the file that documents them."""
    if isinstance(instance, protocol):
        return
    missing = [name for name in protocol_members(protocol) if not hasattr(instance, name)]
    source = inspect.getmodule(protocol).__name__.replace(".", "/")
    raise ConfigError(
        f"{key}={type(instance).__module__}.{type(instance).__name__} lacks {', '.join(missing)} of "
        f"{protocol.__name__} (src/{source}.py)"
    )
