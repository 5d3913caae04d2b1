"""Bad values and nets that do not fit the data are refused in one line, before any training."""

import pytest
from hydra.errors import HydraException

from torch_lessons.errors import ConfigError
from torch_lessons.training import train


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["optimizer.lr=0"], "optimizer.lr=0: must be a number > 0"),
        (["optimizer.lr=-0.5"], "optimizer.lr=-0.5: must be a number > 0"),
        (["data.batch_size=0"], "data.batch_size=0: must be an integer ≥ 1"),
        (["data.batch_size=2.5"], "data.batch_size=2.5: must be an integer ≥ 1"),
        (["trainer.max_epochs=0"], r"trainer.max_epochs=0: must be an integer ≥ 1 \(-1: no limit\)"),
        (["data.val_fraction=1.0"], "data.val_fraction=1.0: must be a number strictly between 0 and 1"),
        (["data.val_fraction=0"], "data.val_fraction=0: must be a number strictly between 0 and 1"),
        (["data.num_workers=-1"], "data.num_workers=-1: must be an integer ≥ 0"),
        (["data.batches_per_group=0"], "data.batches_per_group=0: must be an integer ≥ 1"),
        (
            ["trainer.gradient_clip_val=-1"],
            r"trainer.gradient_clip_val=-1: must be a number ≥ 0 \(or null: no clipping\)",
        ),
        (["trainer.gradient_clip_algorithm=l2"], "trainer.gradient_clip_algorithm=l2 is not one of: norm, value"),
        (["trainer.accumulate_grad_batches=0"], "trainer.accumulate_grad_batches=0: must be an integer ≥ 1"),
        (["scheduler=cosine", "scheduler.interval=batch"], "scheduler.interval=batch is not one of: step, epoch"),
        (["scheduler=step", "scheduler.frequency=0"], "scheduler.frequency=0: must be an integer ≥ 1"),
    ],
)
def test_bad_value_names_key_value_and_what_is_allowed(compose_config, overrides, message: str) -> None:
    cfg = compose_config("train", ["debug=fast_dev_run", *overrides])
    with pytest.raises(ConfigError, match=f"^{message}$"):
        train(cfg)


def test_least_squares_batch_size_is_checked_too(compose_config) -> None:
    cfg = compose_config("train", ["task=least_squares", "data.batch_size=-3"])
    with pytest.raises(ConfigError, match="^data.batch_size=-3: must be an integer ≥ 1$"):
        train(cfg)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            ["debug=fast_dev_run", "model.layer_sizes=[784,64,5]"],
            r"^model=quickstart_mlp \(model.layer_sizes=\[784, 64, 5\]\) turns inputs of shape \[2, 1, 28, 28\] into "
            r"outputs of shape \[2, 5\], but task=fashion_mnist needs \[2, 10\] \(data.num_classes=10\)$",
        ),
        (
            ["task=fruit_yield", "debug=fast_dev_run", "model.out_features=3"],
            r"^model=linear turns inputs of shape \[2, 3\] into outputs of shape \[2, 3\], but task=fruit_yield needs "
            r"\[2, 2\] \(data.num_outputs=2\)$",
        ),
        (
            ["task=least_squares", "model=mlp_1_2_1", "model.layer_sizes=[3,2,1]"],
            r"^model=mlp_1_2_1 \(model.layer_sizes=\[3, 2, 1\]\) does not take the data's inputs \(a batch of shape "
            r"\[2, 1\]\): .*mat1 and mat2 shapes cannot be multiplied \(2x1 and 3x2\)$",
        ),
    ],
    ids=["classifier outputs", "regression outputs", "regression inputs"],
)
def test_net_width_that_does_not_fit_the_data(compose_config, overrides: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        train(compose_config("train", overrides))


@pytest.mark.parametrize(
    ("group", "listed"),
    [
        ("task", r"fashion_mnist.*fruit_yield.*least_squares"),
        ("loss", r"cross_entropy.*kl_div.*mse.*multi_margin"),
        ("model", r"linear.*mlp_1_2_1.*quickstart_mlp.*scalar"),
        ("trainer", r"cpu.*ddp.*default.*gpu.*mps"),
        ("hydra/launcher", r"basic.*local.*slurm"),
    ],
)
def test_unknown_choice_lists_the_available_ones(compose_config, group: str, listed: str) -> None:
    with pytest.raises(HydraException, match=rf"(?s)Could not find '{group}/typo'.*{listed}"):
        compose_config("train", [f"{group}=typo"])
