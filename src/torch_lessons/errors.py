"""Bad input ends a run with one line that names the key, not with a traceback."""

from collections.abc import Iterator
from contextlib import contextmanager


class ConfigError(ValueError):
    """A config value the run cannot use; the message names the key, the value and what is allowed."""


class TrainingFault(RuntimeError):
    """Training cannot go on (e.g. the loss stopped being finite); the message says where and why."""


@contextmanager
def exit_on_config_error() -> Iterator[None]:
    """Turns a ConfigError, a TrainingFault or Lightning's own misconfiguration error into
    ``error: <message>`` and exit status 1."""
    from lightning.fabric.utilities.exceptions import MisconfigurationException

    try:
        yield
    except (ConfigError, TrainingFault, MisconfigurationException) as error:
        raise SystemExit(f"error: {error}") from None
