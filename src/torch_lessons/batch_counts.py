"""Trainer settings counted in batches keep that meaning when training batches come in groups.

Lightning counts the items its training and validation loaders yield; with ``data.batches_per_group``
> 1 (in memory) an item is a group of batches. Before the Trainer is built, the settings a user gives
in batches are therefore translated:

- an int ``limit_train_batches``, ``limit_val_batches`` or ``overfit_batches`` and ``fast_dev_run``:
  left to the Trainer; the in-memory loaders read the Trainer's int limits and yield that many batches
  (Lightning's own cap, in groups, is then never the smaller one); likewise ``num_sanity_val_steps``;
- a fractional ``limit_train_batches`` or ``limit_val_batches``: moved to the datamodule
  (``train_batch_share``, ``val_batch_share``) and applied by the loader in batches; the Trainer gets 1.0;
- an int ``val_check_interval`` N: groups shrink to the largest size ≤ ``batches_per_group`` and
  ≤ N / 2 that divides N, and the Trainer's interval becomes N / that size (groups), i.e. every N
  batches; the loader puts the batches after an epoch's last check in fewer groups than that;
- a fractional ``val_check_interval`` or ``overfit_batches``, or an int ``val_check_interval`` that
  counts across epochs (``check_val_every_n_epoch: null``): one batch per group, said in one line.
"""

import logging

from omegaconf import DictConfig, open_dict

log = logging.getLogger(__name__)


def group_size_for_checks(every: int, bound: int) -> int:
    """The largest divisor of ``every`` that is ≤ ``bound`` and leaves at least 2 groups per check."""
    most = min(bound, every // 2) if every > 1 else 1
    return max(divisor for divisor in range(1, most + 1) if every % divisor == 0)


def ungrouped_because(cfg: DictConfig) -> str | None:
    """Why a setting needs one batch per group, or None."""
    trainer = cfg.trainer
    interval = trainer.get("val_check_interval")
    if isinstance(interval, float) and interval != 1.0:
        return f"trainer.val_check_interval={interval} (a share of the epoch's batches)"
    if isinstance(interval, int) and "check_val_every_n_epoch" in trainer and trainer.check_val_every_n_epoch is None:
        return (
            f"trainer.val_check_interval={interval} with trainer.check_val_every_n_epoch=null (counted across epochs)"
        )
    overfit = trainer.get("overfit_batches")
    if isinstance(overfit, float) and overfit > 0:
        return f"trainer.overfit_batches={overfit} (a share of the batches)"
    return None


def count_in_batches(cfg: DictConfig) -> dict[str, float]:
    """Translates ``cfg`` in place (see the module's docstring); returns the shares of the batches a
    grouping loader takes, by split (the datamodule's ``train_batch_share`` and ``val_batch_share``)."""
    shares = {"train": 1.0, "val": 1.0}
    group_size = cfg.data.get("batches_per_group", 1)
    if group_size <= 1 or not cfg.data.get("in_memory", True):
        return shares
    with open_dict(cfg):
        reason = ungrouped_because(cfg)
        if reason is not None:
            log.info("Batches go to Lightning one at a time (data.batches_per_group=1) for %s", reason)
            cfg.data.batches_per_group = 1
            return shares
        interval = cfg.trainer.get("val_check_interval")
        if isinstance(interval, int):
            cfg.data.batches_per_group = group_size_for_checks(interval, group_size)
            cfg.trainer.val_check_interval = interval // cfg.data.batches_per_group
        for split in shares:
            limit = cfg.trainer.get(f"limit_{split}_batches")
            if isinstance(limit, float) and 0.0 < limit < 1.0:  # 0.0 stays: Lightning then skips the split
                cfg.trainer[f"limit_{split}_batches"] = 1.0
                shares[split] = limit
    return shares
