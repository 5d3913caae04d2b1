"""The training run: check the config, build, fit, test the best checkpoint, report."""

import logging

import lightning as L
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from lightning.pytorch.loggers import TensorBoardLogger
from omegaconf import DictConfig, OmegaConf

from torch_lessons.assembly import build_datamodule, build_module, build_trainer
from torch_lessons.batch_counts import count_in_batches
from torch_lessons.callbacks.checkpoint_record import StoreRunInCheckpoint
from torch_lessons.checkpoints.fine_tuning import freeze_parameters, init_from_checkpoint
from torch_lessons.checkpoints.loading import check_weights_fit
from torch_lessons.checkpoints.resume import completed_epochs, resolve_resume
from torch_lessons.config_checks import check_config, check_net_fits_data, check_optimized_metric_is_logged
from torch_lessons.runs.report import format_test_line, run_hyperparameters, scalar_metrics

log = logging.getLogger(__name__)


def train(cfg: DictConfig) -> dict[str, float]:
    """Fits the composed experiment and returns its final train/val/test metrics."""
    check_config(cfg)
    resume_path, resume_checkpoint = resolve_resume(cfg) or (None, None)
    if cfg.get("seed") is not None:
        L.seed_everything(cfg.seed, workers=True)
    choices = dict(HydraConfig.get().runtime.choices)
    batch_shares = count_in_batches(cfg)
    datamodule = build_datamodule(cfg)
    for split, share in batch_shares.items():
        if share != 1.0:
            setattr(datamodule, f"{split}_batch_share", share)
    module = build_module(cfg)
    check_net_fits_data(cfg, module.net, datamodule)
    check_optimized_metric_is_logged(cfg, module.make_metrics().keys())
    if resume_checkpoint is not None:
        log.info("Resuming from %s (%d epochs done)", resume_path, completed_epochs(resume_checkpoint))
        check_weights_fit(module, resume_checkpoint, cfg.ckpt_path)
        del resume_checkpoint  # Lightning reads the file again in fit(); do not hold it twice
    if cfg.model.get("init_from"):
        init_from_checkpoint(module, cfg.model.init_from, cfg.task.name)
    freeze_parameters(module, cfg.model.get("freeze") or [])
    run_record = StoreRunInCheckpoint(OmegaConf.to_container(cfg, resolve=True), choices)
    trainer = build_trainer(cfg, extra_callbacks=[run_record])
    if trainer.is_global_zero and HydraConfig.get().mode != RunMode.MULTIRUN:  # a sweep's job said it (config_tree)
        log.info("Run dir: %s", cfg.paths.output_dir)

    trainer.fit(module, datamodule=datamodule, ckpt_path=resume_path)
    metrics = scalar_metrics(trainer.callback_metrics)
    metrics["epochs"] = float(trainer.current_epoch)  # epochs run; recorded in result.json and HParams

    if cfg.get("test"):
        best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
        if best:
            log.info("Testing the best checkpoint: %s", best)
        else:
            log.info("No checkpoint was saved (%s): testing the final weights", why_no_checkpoint(trainer))
        (test_metrics,) = trainer.test(module, datamodule=datamodule, ckpt_path=best or None, verbose=False)
        metrics.update(scalar_metrics(test_metrics))
        if trainer.is_global_zero:
            print(format_test_line(metrics))

    hparam_metrics = {f"hp/{name.replace('/', '_')}": value for name, value in metrics.items()}
    for logger in trainer.loggers:
        if isinstance(logger, TensorBoardLogger):
            logger.log_hyperparams(run_hyperparameters(cfg, choices), metrics=hparam_metrics)
        else:
            logger.log_hyperparams(run_hyperparameters(cfg, choices))
        # Lightning closed its writers after testing; the hparams reopened one whose events wait in a
        # daemon thread's queue until it is closed, and would be lost if the process ended first.
        logger.finalize("success")
    return metrics


def why_no_checkpoint(trainer: L.Trainer) -> str:
    if trainer.fast_dev_run:
        return "trainer.fast_dev_run saves none"
    if trainer.checkpoint_callback is None:
        return "checkpointing is off: callbacks.model_checkpoint=null"
    return f"no epoch logged {trainer.checkpoint_callback.monitor}, which picks the best checkpoint"
