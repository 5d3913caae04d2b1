"""Same seed, same config: the same numbers, run after run (CPU, ``trainer.deterministic=true``)."""

from pathlib import Path

import pytest
import torch

from torch_lessons.training import train


@pytest.mark.parametrize(
    "overrides",
    [
        ["task=fashion_mnist", "debug=limit", "trainer.max_epochs=1", "optimizer=adam"],
        ["task=fruit_yield", "trainer.max_epochs=5", "optimizer=sgd", "optimizer.momentum=0.9"],
    ],
)
def test_two_runs_give_identical_metrics_and_weights(compose_config, overrides: list[str]) -> None:
    runs = [compose_config("train", [*overrides, "seed=7", "trainer.deterministic=true"]) for _ in range(2)]
    first, second = (train(cfg) for cfg in runs)
    assert first == second and "test/loss" in first and "val/loss" in first
    weights = [torch.load(Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt", weights_only=True) for cfg in runs]
    assert weights[0]["state_dict"].keys() == weights[1]["state_dict"].keys()
    assert all(
        torch.equal(weights[0]["state_dict"][name], weights[1]["state_dict"][name]) for name in weights[0]["state_dict"]
    )
