"""Bad choices are refused before training with one line that names the key and what is allowed."""

import pytest
import torch
from hydra.errors import HydraException

from conftest import CONFIG_DIR, run_command
from torch_lessons.config_choices import unknown_choice
from torch_lessons.errors import ConfigError
from torch_lessons.training import train


def test_loss_that_does_not_fit_the_task(compose_config) -> None:
    cfg = compose_config("train", ["task=fruit_yield", "loss=cross_entropy"])
    with pytest.raises(ConfigError, match="^loss=cross_entropy does not fit task=fruit_yield; losses that fit: mse$"):
        train(cfg)


def test_classification_loss_list_is_named(compose_config) -> None:
    cfg = compose_config("train", ["loss=mse"])
    with pytest.raises(ConfigError, match="losses that fit: cross_entropy, multi_margin, kl_div"):
        train(cfg)


def test_unknown_choice_lists_the_available_ones(compose_config) -> None:
    with pytest.raises(HydraException, match=r"(?s)Could not find 'optimizer/rmsprop'.*adam.*adamw.*sgd"):
        compose_config("train", ["optimizer=rmsprop"])


@pytest.mark.parametrize(
    ("command", "line"),
    [
        (
            ["train.py", "task=fruit_yield", "+trainer.max_epoch=3"],
            "error: trainer.max_epoch=3 is not a setting of lightning.pytorch.Trainer; "
            "did you mean trainer.max_epochs?",
        ),
        (
            ["eval.py", "task=least_squares"],
            "error: ckpt_path is required: python eval.py ckpt_path=<run dir | .ckpt file | last> task=<its task>",
        ),
        (
            ["train.py", "trainer.max_epoch=3"],
            "error: trainer.max_epoch=3: the config has no key trainer.max_epoch; did you mean trainer.max_epochs? "
            "(to add a new key: +trainer.max_epoch=3)",
        ),
        (
            ["predict.py", "task=fruit_yield", "input=x.csv"],
            "error: input=x.csv: the config has no key input; did you mean inputs? (to add a new key: +input=x.csv)",
        ),
    ],
    ids=["train", "eval without ckpt_path", "train key without +", "predict key without +"],
)
def test_scripts_print_one_line_not_a_traceback(tmp_path, command: list[str], line: str) -> None:
    """Nothing but the line: no config tree, no log line, no run dir (runs/checks_first.py)."""
    result = run_command(*command, f"paths.log_dir={tmp_path}")
    assert (result.returncode, result.stdout, result.stderr) == (1, "", f"{line}\n")
    assert not any(tmp_path.iterdir()), "checked before Hydra writes: no run dir"


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_accelerator_the_machine_lacks(compose_config) -> None:
    cfg = compose_config("train", ["task=least_squares", "trainer=gpu", "trainer.accelerator=gpu"])
    with pytest.raises(ConfigError, match=r"^trainer.accelerator=gpu, .*; accelerators on this machine: auto, cpu"):
        train(cfg)


@pytest.mark.parametrize(
    ("override", "choices"),
    [
        ("debug=fast_dev_rn", "fast_dev_run, limit, overfit"),
        ("hparams_search=fashion_mnist_optna", "fashion_mnist_optuna"),
        ("optimizer=sgd,adamm", "adam, adamw, sgd"),  # one value of a sweep
        ("hydra/launcher=jobib", "basic, joblib, local, slurm, submitit_local, submitit_slurm"),
    ],
)
def test_a_choice_no_group_has_is_one_line(override: str, choices: str) -> None:
    wrong = override.split("=")[1].split(",")[-1]
    message = unknown_choice(CONFIG_DIR, ["task=least_squares", override, "trainer.max_epochs=3"])
    assert message == f"{override.split('=')[0]}={wrong} is not a choice; choices: {choices}"


@pytest.mark.parametrize("override", ["experiment=quickstrat", "debug=fast_dev_rn", "hparams_search=optna"])
def test_no_group_is_optional_so_hydra_never_skips_a_typo(compose_config, override: str) -> None:
    """The defaults list names experiment/debug/hparams_search without ``optional``: a typo is an error
    everywhere, also through Hydra's compose API, not a silent run of the default config."""
    with pytest.raises(HydraException, match=f"Could not find '{override.replace('=', '/')}'"):
        compose_config("train", [override])


def test_existing_choices_pass(compose_config) -> None:
    overrides = ["experiment=least_squares", "debug=fast_dev_run", "optimizer=adam,sgd", "experiment=null"]
    assert unknown_choice(CONFIG_DIR, overrides) is None
    assert compose_config("train", ["experiment=least_squares", "debug=fast_dev_run"]).task.name == "least_squares"


def test_train_py_refuses_a_typo_in_experiment_in_one_line(tmp_path) -> None:
    result = run_command("train.py", "experiment=quickstrat", f"paths.log_dir={tmp_path}")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "error: experiment=quickstrat is not a choice; choices: fashion_mnist_cnn, fashion_mnist_mlp_best, "
        "fruit_yield, least_squares, loss_zoo, quickstart\n"
    )
    assert not any(tmp_path.iterdir()), "no run dir"
