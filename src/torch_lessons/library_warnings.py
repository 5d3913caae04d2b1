"""Library warnings that do not apply to this project, silenced where the project builds its Trainer.

Each filter is narrow (one message, one category) and says why it does not apply here; every other
warning stays, e.g. Lightning's note that a per-sample DataLoader (``data.in_memory=false``) cannot
resume mid-epoch, or that such a loader has few workers.
"""

import logging
import warnings

from lightning.fabric.utilities.warnings import PossibleUserWarning


class DropLightningTips(logging.Filter):
    """Lightning's "💡 Tip: … try installing litlogger / litmodels" lines advertise its cloud services on
    every run; this project logs to TensorBoard or CSV and keeps its checkpoints in the run dir."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("💡 Tip:")


DROP_TIPS = DropLightningTips()


def silence_warnings_that_do_not_apply() -> None:
    # Lightning counts the items its training loader yields, here groups of batches (data.batches_per_group),
    # so the "number of training batches" it names is a number of groups; and the lesson modules write
    # train/loss_step every log_every_n_steps optimizer steps counted across epochs, however few batches
    # an epoch has (modules/lesson.py), as Lightning does for its own step metrics.
    warnings.filterwarnings(
        "ignore",
        message=r"The number of training batches \(\d+\) is smaller than the logging interval",
        category=PossibleUserWarning,
    )
    # On a machine with srun, Lightning suggests `srun python train.py ...`. Here SLURM runs go through
    # hydra/launcher=slurm, whose job script calls srun itself; prefixing the command with srun would start
    # the whole command, a sweep included, once per task.
    warnings.filterwarnings(
        "ignore", message="The `srun` command is available on your system but is not used", category=PossibleUserWarning
    )
    # Lightning 2.6's own use of torch's pytree API (lightning/pytorch/utilities/_pytree.py), deprecated by
    # torch 2.9: nothing in this project's code or config can change it.
    warnings.filterwarnings(
        "ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated", category=FutureWarning
    )
    for name in ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero"):
        logging.getLogger(name).addFilter(DROP_TIPS)
