"""A run dir or sweep dir that already holds files is refused before Hydra writes anything into it."""

import subprocess
import sys
from pathlib import Path

from conftest import PROJECT_ROOT


def refused_lines(*arguments: str) -> list[str]:
    """train.py's stderr lines for a run that must be refused (exit status 1)."""
    result = subprocess.run(
        [sys.executable, "train.py", *arguments, "task=least_squares"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result.stderr[-2000:]
    return result.stderr.strip().splitlines()


def test_existing_run_dir_is_never_written_into(tmp_path: Path) -> None:
    """Checked by a Hydra callback before Hydra writes .hydra/ or train.log, and before torch loads."""
    run_dir = tmp_path / "my_run"
    run_dir.mkdir()
    (run_dir / "notes.txt").write_text("the user's own file")
    assert refused_lines(f"hydra.run.dir={run_dir}") == [
        f"error: hydra.run.dir={run_dir} already holds files (notes.txt); choose a new dir, or leave hydra.run.dir "
        f"unset for a fresh one; to continue that run, pass ckpt_path={run_dir}"
    ]
    assert [path.name for path in run_dir.iterdir()] == ["notes.txt"]
    assert (run_dir / "notes.txt").read_text() == "the user's own file"


def test_existing_sweep_dir_is_never_written_into(tmp_path: Path) -> None:
    (tmp_path / "0").mkdir()
    assert refused_lines("-m", "optimizer=sgd,adam", f"hydra.sweep.dir={tmp_path}") == [
        f"error: hydra.sweep.dir={tmp_path} already holds files (0); choose a new dir, or leave hydra.sweep.dir "
        "unset for a fresh one"
    ]
    assert [path.name for path in tmp_path.iterdir()] == ["0"] and not any((tmp_path / "0").iterdir())
