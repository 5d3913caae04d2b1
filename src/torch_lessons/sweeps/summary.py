"""The sweep summary: one row per job, best first, as summary.md and summary.csv in the sweep dir.

Written at the end of every multirun by the ``WriteSweepSummary`` Hydra callback (conf/hydra/default.yaml),
and on demand for any sweep dir: ``python -m torch_lessons.sweeps.summary outputs/multirun/<date>/<time>``.
It reads what each job saved (``.hydra/overrides.yaml`` and ``result.json``), so it works on a sweep
that is still running or was interrupted: a job without ``result.json`` is listed as ``not finished``
(``interrupted`` once the sweep was), a planned job without a dir as ``not started``, and a record that
cannot be read says why in its row while the other rows stay.
"""

import argparse
import csv
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from torch_lessons.sweeps.interrupt import sweep_was_interrupted
from torch_lessons.sweeps.plan import read_plan

STAGES = ("train", "val", "test")
NOT_FINISHED = "not finished (no result.json)"
INTERRUPTED_UNRECORDED = "interrupted (no result.json)"
NOT_STARTED = "not started"
OUTCOMES = {  # status prefix → how the end-of-sweep line counts it
    "ok": "finished",
    "failed": "finished",
    "interrupted": "interrupted",
    "not started": "not started",
    "not finished": "not finished",
    "unreadable record": "unreadable",
}


@dataclass
class JobRow:
    """What one job of the sweep did."""

    job: str
    overrides: list[str]
    status: str = NOT_FINISHED
    metrics: dict[str, float] = field(default_factory=dict)
    epochs: float | None = None
    wall_time_s: float | None = None
    optimized_metric: str | None = None
    optimized_metric_mode: str | None = None


def unreadable(path: Path, error: Exception) -> str:
    """The row's status for a job file that cannot be read, e.g. a result.json cut short by a full disk."""
    if isinstance(error, KeyError):
        return f"unreadable record: {path.name} has no {error.args[0]!r} entry"
    reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return f"unreadable record: {path.name}: {reason}"


def read_job(job_dir: Path, sweep_dir: Path, interrupted: bool = False) -> JobRow:
    row = JobRow(job=str(job_dir.relative_to(sweep_dir)), overrides=[])
    overrides_path = job_dir / ".hydra" / "overrides.yaml"
    try:
        row.overrides = [str(item) for item in OmegaConf.load(overrides_path)]
    except Exception as error:  # a broken file of one job must not lose the whole summary
        row.status = unreadable(overrides_path, error)
        return row
    result_path = job_dir / "result.json"
    if not result_path.exists():
        row.status = INTERRUPTED_UNRECORDED if interrupted else NOT_FINISHED
        return row
    try:
        result: dict[str, Any] = json.loads(result_path.read_text())
        row.status = str(result["status"])
        row.metrics = {name: float(value) for name, value in result["metrics"].items() if name != "epochs"}
    except Exception as error:
        row.status, row.metrics = unreadable(result_path, error), {}
        return row
    row.epochs = result.get("epochs")
    row.wall_time_s = result.get("wall_time_s")
    row.optimized_metric = result.get("optimized_metric")
    row.optimized_metric_mode = result.get("optimized_metric_mode")
    return row


def read_sweep(sweep_dir: Path) -> list[JobRow]:
    """Every job dir below ``sweep_dir`` (found by its ``.hydra/overrides.yaml``) and every planned
    job that never got one, best first."""
    interrupted = sweep_was_interrupted(sweep_dir)
    job_dirs = sorted(path.parent.parent for path in sweep_dir.rglob(".hydra/overrides.yaml"))
    rows = [read_job(job_dir, sweep_dir, interrupted) for job_dir in job_dirs]
    started = {row.job for row in rows}
    rows += [
        JobRow(job=job["dir"], overrides=job["overrides"], status=NOT_STARTED)
        for job in read_plan(sweep_dir)
        if job["dir"] not in started
    ]
    return sort_best_first(rows)


def count_by_outcome(rows: list[JobRow]) -> dict[str, int]:
    """``{"finished": 2, "interrupted": 1, "not started": 3}`` (ok and failed jobs both finished);
    unreadable or unfinished records are counted under their own status."""
    counts = {"finished": 0, "interrupted": 0, "not started": 0}
    for row in rows:
        outcome = next((name for prefix, name in OUTCOMES.items() if row.status.startswith(prefix)), row.status)
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def sort_best_first(rows: list[JobRow]) -> list[JobRow]:
    """Finished jobs by their optimized metric (highest first for mode max), then failed/unfinished ones."""

    def key(row: JobRow) -> tuple[int, float]:
        value = row.metrics.get(row.optimized_metric or "")
        if row.status != "ok" or value is None or not math.isfinite(value):
            return (1, 0.0)
        return (0, -value if row.optimized_metric_mode == "max" else value)

    return sorted(rows, key=key)


def metric_columns(rows: list[JobRow]) -> list[str]:
    """train/…, then val/…, then test/…, then the rest (e.g. the learning rate)."""

    def stage_order(name: str) -> tuple[int, str]:
        stage = name.split("/")[0]
        return (STAGES.index(stage) if stage in STAGES else len(STAGES), name)

    return sorted({name for row in rows for name in row.metrics}, key=stage_order)


def shared_overrides(rows: list[JobRow]) -> list[str]:
    """Overrides every job has (e.g. ``debug=limit``): said once above the table, not in every row."""
    if len(rows) < 2:
        return []
    return [item for item in rows[0].overrides if all(item in row.overrides for row in rows[1:])]


def format_number(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e6 else f"{value:.4g}"


def table(rows: list[JobRow]) -> tuple[list[str], list[list[str]], list[str]]:
    """Header, rows of cells, and the overrides shared by all jobs."""
    shared = shared_overrides(rows)
    metrics = metric_columns(rows)
    header = ["job", "overrides", *metrics, "epochs", "wall time (s)", "status"]
    cells = [
        [
            row.job,
            ", ".join(item for item in row.overrides if item not in shared),
            *(format_number(row.metrics.get(name)) for name in metrics),
            format_number(row.epochs),
            format_number(row.wall_time_s),
            row.status,
        ]
        for row in rows
    ]
    return header, cells, shared


def markdown(rows: list[JobRow], sweep_dir: Path) -> str:
    header, cells, shared = table(rows)
    ranked = next((row for row in rows if row.optimized_metric), None)
    ranked_by = f"{ranked.optimized_metric} ({ranked.optimized_metric_mode})" if ranked else ""
    lines = [f"# Sweep {sweep_dir}", "", f"{len(rows)} jobs, best first by {ranked_by or 'the optimized metric'}."]
    if shared:
        lines.append(f"Overrides shared by all jobs: {', '.join(shared)}")
    lines += ["", "| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in cells]
    return "\n".join(lines) + "\n"


def write_summary(sweep_dir: Path) -> str:
    """Writes summary.md and summary.csv (all overrides, full precision) and returns the markdown."""
    rows = read_sweep(sweep_dir)
    metrics = metric_columns(rows)
    with open(sweep_dir / "summary.csv", "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["job", "overrides", *metrics, "epochs", "wall_time_s", "status"])
        for row in rows:
            values = [row.metrics.get(name, "") for name in metrics]
            writer.writerow([row.job, " ".join(row.overrides), *values, row.epochs, row.wall_time_s, row.status])
    text = markdown(rows, sweep_dir)
    (sweep_dir / "summary.md").write_text(text)
    return text


class WriteSweepSummary(Callback):
    """Hydra callback: at the end of every multirun, writes the summary and prints its table."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        if sweep_dir.is_dir():
            print(write_summary(sweep_dir))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Summarize a sweep dir into summary.md and summary.csv.")
    parser.add_argument("sweep_dir", type=Path, help="e.g. outputs/multirun/<date>/<time>")
    sweep_dir = parser.parse_args(argv).sweep_dir
    if not sweep_dir.is_dir() or not any(sweep_dir.rglob(".hydra/overrides.yaml")):
        print(f"error: sweep_dir={sweep_dir} holds no job dirs (none has .hydra/overrides.yaml)", file=sys.stderr)
        return 2
    print(write_summary(sweep_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
