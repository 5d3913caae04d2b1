"""The tuned presets learn: a short run of each clears a floor far below its benchmark target.

The targets (MLP ≥ 85%, CNN ≥ 88% test accuracy on the bundled sample, full-length runs) are figures
measured by hand and given in the README, not tested here.
"""

import pytest

from torch_lessons.training import train


@pytest.mark.parametrize(
    ("experiment", "epochs", "floor"),
    [("fashion_mnist_mlp_best", 2, 0.60), ("fashion_mnist_cnn", 1, 0.65)],
)
def test_preset_learns(compose_config, experiment: str, epochs: int, floor: float) -> None:
    cfg = compose_config(
        "train", [f"experiment={experiment}", f"trainer.max_epochs={epochs}", "logger=none", "callbacks=none"]
    )
    metrics = train(cfg)
    assert metrics["test/acc"] >= floor, metrics
