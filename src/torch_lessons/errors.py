"""Bad input ends a run with one line that names the key, not with a traceback."""

import errno
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class ConfigError(ValueError):
    """A config value the run cannot use; the message names the key, the value and what is allowed."""


class TrainingFault(RuntimeError):
    """Training cannot go on (e.g. the loss stopped being finite); the message says where and why."""


def no_space_left(error: BaseException) -> bool:
    """Whether ENOSPC is anywhere in the chain: torch's zip writer reports a full disk as
    ``unexpected pos ...`` and leaves ``No space left on device`` in the exception it was handling."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno == errno.ENOSPC:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def raise_if_disk_full(error: BaseException, path: Path, lost: str = "") -> None:
    """Turns a full disk while writing ``path`` into one line that names the path; ``lost`` says what
    the file should have held, so that the message keeps it."""
    if no_space_left(error):
        held = f"; it should have held: {lost}" if lost else ""
        raise TrainingFault(
            f"no space left on device writing {path}: free some space or set paths.log_dir to a disk with room{held}"
        ) from None


@contextmanager
def exit_on_config_error() -> Iterator[None]:
    """Turns a ConfigError, a TrainingFault or Lightning's own misconfiguration error into
    ``error: <message>`` and exit status 1. Under DDP every rank raises these alike (checks of the same
    config and data; faults the ranks agree on), so only rank 0 prints the line: one line, not one per rank."""
    from lightning.fabric.utilities.exceptions import MisconfigurationException
    from lightning.pytorch.utilities.rank_zero import rank_zero_only

    try:
        yield
    except (ConfigError, TrainingFault, MisconfigurationException) as error:
        if rank_zero_only.rank > 0:
            raise SystemExit(1) from None
        raise SystemExit(f"error: {error}") from None
