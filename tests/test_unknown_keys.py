"""A key nothing reads (a typo under ``+trainer.``, a setting for a scheduler that is not chosen) is refused in one
line naming it, and no config the project ships is refused."""

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig

from conftest import CONFIG_DIR
from torch_lessons.config_keys import unknown_key
from torch_lessons.errors import ConfigError
from torch_lessons.training import train


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            ["+trainer.max_epoch=3"],
            "trainer.max_epoch=3 is not a setting of lightning.pytorch.Trainer; did you mean trainer.max_epochs?",
        ),
        (["scheduler=none", "+scheduler.x=1"], "scheduler.x=1 is not read: scheduler=none builds nothing"),
        (
            ["scheduler=step", "+scheduler.scheduler.gama=0.1"],  # the torch class inside the project's schedule
            "scheduler.scheduler.gama=0.1 is not a setting of torch.optim.lr_scheduler.StepLR; "
            "did you mean scheduler.scheduler.gamma?",
        ),
        (["+optimizer.lrr=0.1"], "optimizer.lrr=0.1 is not a setting of torch.optim.SGD; did you mean optimizer.lr?"),
        (
            ["+data.batchsize=8"],
            "data.batchsize=8 is not a setting of torch_lessons.datamodules.fashion_mnist.FashionMNISTDataModule; "
            "did you mean data.batch_size?",
        ),
        (
            ["+model.hiden=3"],
            "model.hiden=3 is not a setting of torch_lessons.nets.mlp.MLP; known: dropout, freeze, init_from, "
            "layer_sizes",
        ),
        (
            ["task=least_squares", "+callbacks.stop_on_non_finit_loss.x=1"],
            "callbacks.stop_on_non_finit_loss.x=1 is not read: callbacks.stop_on_non_finit_loss has no _target_; "
            "did you mean callbacks.stop_on_non_finite_loss?",
        ),
        (["+seeed=3"], "seeed=3 is not a setting of train.py; did you mean seed?"),
        (["+task.monitr=val/loss"], "task.monitr=val/loss is not a setting of task; did you mean task.monitor?"),
        (
            ["model._target_=torch_lessons.nets.mlp.MPL"],
            "model._target_=torch_lessons.nets.mlp.MPL cannot be imported: torch_lessons.nets.mlp has no MPL",
        ),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else "",
)
def test_key_nothing_reads_is_refused_before_training(compose_config, overrides: list[str], message: str) -> None:
    cfg = compose_config("train", ["logger=none", *overrides])
    with pytest.raises(ConfigError) as refusal:
        train(cfg)
    assert str(refusal.value) == message
    assert not Path(cfg.paths.output_dir).exists(), "refused before anything was built or written"


def test_eval_refuses_a_key_of_its_own_config(compose_config) -> None:
    cfg = compose_config("eval", ["ckpt_path=last", "+num_prediction=3"])
    assert unknown_key(cfg) == "num_prediction=3 is not a setting of eval.py; did you mean num_predictions?"


def options(group: str) -> list[str]:
    return [f"{group}={path.stem}" for path in sorted((CONFIG_DIR / group).glob("*.yaml"))]


def shipped_choices() -> list[tuple[str, list[str]]]:
    """Every config of every group the project ships, in few compositions: the i-th option of each group together
    (experiments, which choose the task, model, loss and optimizer, beside the groups they leave alone)."""
    rows = [
        ("eval", ["ckpt_path=last"]),
        ("predict", ["ckpt_path=last", "inputs=[[1]]"]),
        ("export", ["ckpt_path=last"]),
        ("train", options("hparams_search")),
    ]
    beside_experiments = [options(group) for group in ("experiment", "debug", "trainer", "callbacks", "logger")]
    beside_tasks = [options(group) for group in ("task", "model", "loss", "optimizer", "scheduler", "data", "module")]
    for groups in (beside_experiments, beside_tasks):
        for index in range(max(map(len, groups))):
            rows.append(("train", [choices[index] for choices in groups if index < len(choices)]))
    return rows


def test_no_shipped_config_is_refused(tmp_path: Path) -> None:
    """Composed as train.py, eval.py, predict.py and export.py compose them: every key a config of the project
    sets is one that something reads."""
    refused = {}
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        for config_name, overrides in shipped_choices():
            cfg = compose(config_name, [f"paths.output_dir={tmp_path}", *overrides], return_hydra_config=True)
            HydraConfig.instance().set_config(cfg)
            message = unknown_key(cfg)
            if message:
                refused[f"{config_name} {' '.join(overrides)}"] = message
    assert refused == {}
