"""Wall time of the same sweep under Hydra's basic launcher and the joblib launcher, interleaved.

    python benchmarks/launchers.py --rounds 2 -- optimizer=sgd,adam trainer.max_epochs=3 data.source=sample

Runs basic, joblib, basic, joblib, … (this machine's speed drifts, so separate timings would be
noise) and prints each time and the ratio of the sums. Outputs go to a temporary dir.
"""

import argparse
import csv
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
LAUNCHERS = {"basic": [], "joblib": ["hydra/launcher=joblib"]}


def time_sweep(launcher_overrides: list[str], sweep: list[str], log_dir: Path) -> float:
    """Seconds the whole sweep took; a failed job would make the timing meaningless, so it stops here."""
    command = [sys.executable, "train.py", "-m", *launcher_overrides, *sweep, f"paths.log_dir={log_dir}"]
    started = time.perf_counter()
    subprocess.run(command, cwd=PROJECT_ROOT, check=True, capture_output=True)
    seconds = time.perf_counter() - started
    (summary,) = log_dir.glob("multirun/*/*/summary.csv")
    with open(summary, newline="") as file:
        statuses = [row["status"] for row in csv.DictReader(file)]
    if any(status != "ok" for status in statuses):
        sys.exit(f"a job of the sweep did not finish ok: {statuses} (see {summary})")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("sweep", nargs="+", help="train.py overrides of the sweep, e.g. optimizer=sgd,adam")
    arguments = parser.parse_args()
    totals = dict.fromkeys(LAUNCHERS, 0.0)
    with tempfile.TemporaryDirectory() as outputs:
        for round_number in range(arguments.rounds):
            for name, launcher_overrides in LAUNCHERS.items():
                log_dir = Path(outputs) / f"{name}-{round_number}"  # one sweep per dir, so one summary
                seconds = time_sweep(launcher_overrides, arguments.sweep, log_dir)
                totals[name] += seconds
                print(f"round {round_number + 1} {name:6s} {seconds:6.1f} s", flush=True)
    ratio = totals["joblib"] / totals["basic"]
    print(f"sum: basic {totals['basic']:.1f} s, joblib {totals['joblib']:.1f} s, joblib/basic {ratio:.2f}")


if __name__ == "__main__":
    main()
