"""What every entry point (train.py, eval.py, predict.py, export.py) does around its ``@hydra.main``:
a choice no config group has, or a key the config lacks, is refused in one line instead of Hydra's report."""

import sys
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from torch_lessons.config_choices import exit_on_unknown_choice
from torch_lessons.config_overrides import one_line_override_errors


def run_entry_point(
    main: Callable[[], Any], script: str, around: Callable[[], AbstractContextManager] = nullcontext
) -> None:
    """Checks the command line's choices against ``conf/`` beside ``script``, then runs ``main`` (the
    ``@hydra.main`` function) inside ``around()`` (train.py: what a signal to a sweep does)."""
    exit_on_unknown_choice(Path(script).resolve().parent / "conf", sys.argv[1:])
    with one_line_override_errors(), around():
        main()
