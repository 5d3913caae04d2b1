"""Precision, torch.compile and the device the in-memory data lives on (GPU tests skip without CUDA)."""

from pathlib import Path

import pytest
import torch

from torch_lessons.assembly import build_datamodule, build_trainer
from torch_lessons.training import train


def test_bf16_mixed_precision_runs_on_cpu(compose_config) -> None:
    metrics = train(compose_config("train", ["debug=fast_dev_run", "trainer.precision=bf16-mixed", "logger=none"]))
    assert 0.0 <= metrics["test/acc"] <= 1.0


# 16-mixed as on a GPU: Lightning itself turns trainer.precision=16-mixed into bf16-mixed on a CPU.
FP16_WITH_LOSS_SCALING = [
    "trainer.plugins=[{_target_: torch_lessons.checkpoints.atomic_io.AtomicCheckpointIO},"
    "{_target_: lightning.pytorch.plugins.precision.MixedPrecision, precision: 16-mixed, device: cpu}]",
    "trainer.precision=null",
]


@pytest.mark.parametrize(
    "precision",
    [["trainer.precision=32-true"], ["trainer.precision=bf16-mixed"], FP16_WITH_LOSS_SCALING],
    ids=["32-true", "bf16-mixed", "16-mixed"],
)
def test_steps_learn_at_each_precision(compose_config, precision: list[str]) -> None:
    """16-mixed scales the loss with a GradScaler (Lightning's manual_backward and optimizer.step
    handle it, as for every precision); all of them learn, with clipping on (after unscaling)."""
    overrides = [*precision, "logger=none", "test=false", "optimizer=adam", "trainer.max_epochs=1"]
    cfg = compose_config("train", [*overrides, "trainer.gradient_clip_val=1.0"])
    metrics = train(cfg)
    checkpoint = torch.load(Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["global_step"] == 51, "every batch of the sample's 3,253 training images is a step"
    assert metrics["val/acc"] > 0.6, metrics


def test_compiled_net_keeps_plain_parameter_names(compose_config) -> None:
    """torch.compile's code path (the eager backend keeps it fast here); checkpoints stay loadable
    by an uncompiled model because the net is compiled in place."""
    cfg = compose_config("train", ["task=least_squares", "compile={backend: eager}", "debug=limit", "logger=none"])
    train(cfg)
    checkpoint = torch.load(Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt", weights_only=True)
    assert list(checkpoint["state_dict"]) == ["net.a"]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_in_memory_batches_live_on_the_gpu(compose_config) -> None:
    cfg = compose_config("train", ["trainer=gpu", "trainer.accelerator=gpu", "debug=fast_dev_run", "logger=none"])
    datamodule = build_datamodule(cfg)
    trainer = build_trainer(cfg)
    datamodule.trainer = trainer
    datamodule.prepare_data()
    datamodule.setup("fit")
    images, labels = next(iter(datamodule.train_dataloader())).batches[0]  # the first batch of the first group
    assert images.is_cuda and labels.is_cuda and images.dtype == torch.float32


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("precision", ["32-true", "bf16-mixed", "16-mixed"])
def test_gpu_training_with_each_precision(compose_config, precision: str) -> None:
    cfg = compose_config(
        "train",
        ["trainer=gpu", "trainer.accelerator=gpu", f"trainer.precision={precision}", "debug=limit", "logger=none"],
    )
    assert train(cfg)["test/loss"] < 2.4
