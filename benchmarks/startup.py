"""Wall time of `python train.py debug=fast_dev_run` end to end, as a user starts it (median of N).

python benchmarks/startup.py [--repeats 3]
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 12.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    arguments = parser.parse_args()
    outputs = tempfile.mkdtemp(prefix="startup-")
    seconds = []
    for _ in range(arguments.repeats):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "train.py", "debug=fast_dev_run", f"paths.log_dir={outputs}"],
            cwd=PROJECT_ROOT,
            check=True,
            capture_output=True,
        )
        seconds.append(time.perf_counter() - start)
    median = statistics.median(seconds)
    print(f"python train.py debug=fast_dev_run: {', '.join(f'{value:.1f}' for value in seconds)} s")
    print(f"median {median:.1f} s; target <= {TARGET_SECONDS:.0f} s: ratio {median / TARGET_SECONDS:.2f}")


if __name__ == "__main__":
    main()
