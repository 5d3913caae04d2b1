"""Hydra's own refusal of an override, in one line: e.g. ``trainer.max_epoch=3`` typed without ``+``
for a key the config lacks, which Hydra refuses while composing, before any of the project's checks."""

import difflib
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from hydra.errors import ConfigCompositionException
from omegaconf import DictConfig

FULL_ERROR = "HYDRA_FULL_ERROR"


def one_line(error: ConfigCompositionException) -> str:
    """The refusal and its cause on one line; for a missing key, the override, the key, the closest
    existing key and how to add one."""
    text = " ".join(str(error).split())
    cause = error.__cause__
    appended = re.search(r"To append to your config use \+(\S+)", text)
    parent, full_key = getattr(cause, "parent_node", None), getattr(cause, "full_key", None)
    if appended is None or not isinstance(parent, DictConfig) or not full_key:
        cause_lines = str(cause).splitlines() if cause is not None else []
        return f"{text}; {cause_lines[0]}" if cause_lines else text
    message = f"{appended[1]}: the config has no key {full_key}"
    prefix, _, missing = full_key.rpartition(".")
    close = difflib.get_close_matches(missing, [str(name) for name in parent.keys()], n=1)
    if close:
        message += f"; did you mean {prefix + '.' if prefix else ''}{close[0]}?"
    return f"{message} (to add a new key: +{appended[1]})"


@contextmanager
def one_line_override_errors() -> Iterator[None]:
    """Around an entry point's ``main()``: Hydra prints a refused override on several lines; with
    ``HYDRA_FULL_ERROR`` set it raises instead, and the refusal is printed here as one ``error:`` line.
    A user who set ``HYDRA_FULL_ERROR`` gets Hydra's full report, as Hydra promises."""
    if FULL_ERROR in os.environ:
        yield
        return
    os.environ[FULL_ERROR] = "1"
    try:
        yield
    except ConfigCompositionException as error:
        sys.exit(f"error: {one_line(error)}")
    finally:
        os.environ.pop(FULL_ERROR, None)
