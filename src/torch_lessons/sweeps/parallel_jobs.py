"""Jobs that run side by side (``hydra/launcher=joblib``) share the cores instead of oversubscribing them."""

import logging
import os

from hydra.core.hydra_config import HydraConfig

log = logging.getLogger(__name__)


def parallel_job_count(n_jobs: int, cpu_count: int) -> int:
    """How many jobs joblib runs at once for ``n_jobs`` (-1: one per core, -2: all but one, ...)."""
    if n_jobs < 0:
        return max(1, cpu_count + 1 + n_jobs)
    return max(1, n_jobs)


def threads_per_job(n_jobs: int, cpu_count: int) -> int:
    """So that jobs × threads ≤ cores; at least one thread."""
    return max(1, cpu_count // parallel_job_count(n_jobs, cpu_count))


def limit_torch_threads() -> None:
    """Under a launcher that runs ``n_jobs`` jobs at once, gives each job its share of the cores.

    Launchers that run one job at a time (Hydra's basic launcher) have no ``n_jobs``: torch keeps
    its default of one thread per core.
    """
    hydra_config = HydraConfig.get()
    n_jobs = hydra_config.launcher.get("n_jobs") if "launcher" in hydra_config else None
    if n_jobs is None:
        return
    import torch

    threads = threads_per_job(int(n_jobs), os.cpu_count() or 1)
    torch.set_num_threads(threads)
    log.info("Parallel jobs (hydra.launcher.n_jobs=%s): %d torch thread(s) per job", n_jobs, threads)
