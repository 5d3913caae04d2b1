"""model.init_from and model.freeze: the lesson's requires_grad=False as a config option."""

import logging
from pathlib import Path

import pytest
import torch

from torch_lessons.errors import ConfigError
from torch_lessons.training import train

SHORT_RUN = ["debug=limit", "trainer.max_epochs=1", "logger=none", "test=false"]


def run_and_load_last(compose_config, overrides: list[str]) -> tuple[Path, dict[str, torch.Tensor]]:
    cfg = compose_config("train", [*SHORT_RUN, *overrides])
    train(cfg)
    path = Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt"
    return path, torch.load(path, weights_only=True)["state_dict"]


def test_frozen_layers_stay_bit_identical(compose_config, caplog) -> None:
    start, start_weights = run_and_load_last(compose_config, ["optimizer=adam"])
    with caplog.at_level(logging.INFO, logger="torch_lessons"):
        _, tuned = run_and_load_last(
            compose_config, ["optimizer=adam", f"model.init_from={start}", "model.freeze=['net.layers.0.*']"]
        )
    assert torch.equal(tuned["net.layers.0.weight"], start_weights["net.layers.0.weight"])
    assert torch.equal(tuned["net.layers.0.bias"], start_weights["net.layers.0.bias"])
    assert not torch.equal(tuned["net.layers.4.weight"], start_weights["net.layers.4.weight"])
    assert "Parameters: 267,786 trainable, 401,920 frozen" in caplog.messages


def test_frozen_parameters_are_not_given_to_the_optimizer(compose_config) -> None:
    from torch_lessons.assembly import build_module
    from torch_lessons.checkpoints.fine_tuning import freeze_parameters

    module = build_module(compose_config("train", ["task=least_squares", "model=linear"]))
    freeze_parameters(module, ["net.bias"])
    (group,) = module.configure_optimizers().param_groups
    assert [tuple(parameter.shape) for parameter in group["params"]] == [(1, 1)]


def test_pattern_matching_nothing_names_the_parameters(compose_config) -> None:
    cfg = compose_config("train", ["task=least_squares", "model=linear", "model.freeze=[layers.*]", *SHORT_RUN])
    with pytest.raises(
        ConfigError,
        match=r"^model.freeze pattern 'layers.\*' matches no parameter; the parameters are: net.weight, net.bias$",
    ):
        train(cfg)


def test_init_from_another_task_is_refused(compose_config) -> None:
    other, _ = run_and_load_last(compose_config, ["task=least_squares", "model=linear"])
    cfg = compose_config("train", ["task=fruit_yield", f"model.init_from={other}", *SHORT_RUN])
    with pytest.raises(
        ConfigError, match=r"^model.init_from=.* was trained with task=least_squares, not task=fruit_yield"
    ):
        train(cfg)


def test_init_from_another_shape_is_refused(compose_config) -> None:
    other, _ = run_and_load_last(compose_config, ["task=least_squares", "model=scalar"])
    cfg = compose_config("train", ["task=least_squares", "model=mlp_1_2_1", f"model.init_from={other}", *SHORT_RUN])
    with pytest.raises(ConfigError, match=r"^model.init_from=.*: its weights do not fit the configured model"):
        train(cfg)
