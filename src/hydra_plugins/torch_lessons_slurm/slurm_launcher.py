"""hydra-submitit-launcher's SLURM launcher with one-line sbatch errors and interrupted jobs handed back.

conf/hydra/launcher/slurm.yaml names it as ``_target_``; the helpers are in ``torch_lessons.sweeps.slurm_launcher``.
"""

import logging
from collections.abc import Sequence
from typing import Any

from hydra.core.utils import JobReturn, JobStatus
from hydra_plugins.hydra_submitit_launcher import submitit_launcher

from torch_lessons.sweeps.slurm_launcher import OTHER_RANK_OVERRIDES, require_slurm_commands, sbatch_errors_in_one_line

log = logging.getLogger(__name__)


class SlurmLauncher(submitit_launcher.SlurmLauncher):
    """The plugin's launcher; conf/hydra/launcher/slurm.yaml names it as ``_target_``."""

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        require_slurm_commands()
        with sbatch_errors_in_one_line(self.params):
            return super().launch(job_overrides, initial_job_idx)

    def __call__(self, sweep_overrides: list[str], *args: Any, **kwargs: Any) -> JobReturn:
        """Runs one job (one SLURM task of it) inside its allocation; ranks other than 0 log to submitit's
        per-task files only.

        A job interrupted by SIGTERM saves ``last.ckpt``, records ``interrupted`` in its result.json
        and exits; that exit is returned here as a finished job without a value, so that submitit
        writes its result file and the sweep goes on with (and summarizes) the other jobs.
        """
        import submitit

        if submitit.JobEnvironment().global_rank > 0:
            sweep_overrides = [*sweep_overrides, *OTHER_RANK_OVERRIDES]
        try:
            return super().__call__(sweep_overrides, *args, **kwargs)
        except SystemExit as exit_:
            log.warning("Job %s ended by SystemExit(%s); its result.json says why", sweep_overrides, exit_.code)
            return JobReturn(overrides=sweep_overrides, status=JobStatus.COMPLETED, _return_value=None)
