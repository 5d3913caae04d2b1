"""Every task × model × loss × optimizer × scheduler of conf/ either builds a datamodule and module that keep
their contracts (datamodules/contract.py, modules/contract.py), or is refused by the config checks with its
one line. No training: one real example batch goes through each net, its test step and its predict step.

Every combination goes through the config checks, and its optimizer and schedule are built; the module (net,
loss, metrics: what its contract covers) is built and checked once per task, net and loss. Hydra composes each
task once (a compose costs ~0.1-0.2 s, too much for ~900 combinations); a combination then swaps the groups'
nodes in, each composed as Hydra does under train.yaml's defaults list (train.yaml's own values, the group's
file, then the task's values). ``test_swapped_groups_equal_hydra`` checks that against Hydra's own compose.
"""

import functools
import itertools

import lightning as L
import pytest
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from conftest import CONFIG_DIR, task_losses
from torch_lessons.assembly import build_datamodule, build_module
from torch_lessons.config_checks import check_config, check_net_fits_data
from torch_lessons.datamodules.contract import ClassificationData, RegressionData, TaskData
from torch_lessons.errors import ConfigError
from torch_lessons.modules.contract import TaskModule

GROUPS = ("model", "loss", "optimizer", "scheduler")
TASKS = sorted(task_losses())


def choices(group: str) -> list[str]:
    return sorted(path.stem for path in (CONFIG_DIR / group).glob("*.yaml"))


def out_of_data(model: str, task: str, key: str, missing: str) -> str:
    data = task  # each task's data config has the task's name
    return f"model={model} does not fit task={task}: {key} refers to {missing}, which data={data} does not have"


# Nets that do not fit a task's data, refused on purpose (besides the losses a task does not list in task.losses).
NETS_REFUSED = {
    ("fashion_mnist", "scalar"): "model=scalar turns inputs of shape [2, 1, 28, 28] into outputs of shape "
    "[2, 1, 28, 28], but task=fashion_mnist needs [2, 10] (data.num_classes=10)",
    ("fashion_mnist", "linear"): out_of_data("linear", "fashion_mnist", "model.in_features", "data.num_inputs"),
    ("fashion_mnist", "mlp_1_2_1"): out_of_data(
        "mlp_1_2_1", "fashion_mnist", "model.layer_sizes[0]", "data.num_inputs"
    ),
    ("fruit_yield", "scalar"): "model=scalar turns inputs of shape [2, 3] into outputs of shape [2, 3], "
    "but task=fruit_yield needs [2, 2] (data.num_outputs=2)",
    **{
        (task, model): out_of_data(model, task, key, "data.num_classes")
        for task in ("least_squares", "fruit_yield")
        for model, key in (("quickstart_mlp", "model.layer_sizes[3]"), ("small_cnn", "model.num_classes"))
    },
}


def expected_refusal(task: str, model: str, loss: str, losses: list[str]) -> str | None:
    """The config checks' order: the loss first, then the net."""
    if loss not in losses:
        return f"loss={loss} does not fit task={task}; losses that fit: {', '.join(losses)}"
    return NETS_REFUSED.get((task, model))


@functools.cache
def config_file(path: str) -> DictConfig:
    return OmegaConf.load(CONFIG_DIR / path)


def group_node(group: str, choice: str, task: str) -> object:
    """The group's node as Hydra composes it with this task: train.yaml's values, the choice's file, the task's."""
    parts = [config_file(name).get(group) for name in ("train.yaml", f"task/{task}.yaml")]
    parts.insert(1, config_file(f"{group}/{choice}.yaml"))
    given = [part for part in parts if part]
    return OmegaConf.merge(*given) if given else None


def swap(cfg: DictConfig, group: str, node: object, choice: str) -> None:
    with open_dict(cfg):
        cfg[group] = node
    with read_write(HydraConfig.get().runtime.choices):
        HydraConfig.get().runtime.choices[group] = choice


def check_pair(datamodule: TaskData, module: TaskModule, batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    """The contract, checked on one real batch: what the figures, eval, predict and export read."""
    assert isinstance(datamodule, TaskData) and isinstance(module, TaskModule)
    classes = isinstance(datamodule, ClassificationData)
    assert classes != isinstance(datamodule, RegressionData), "a task's data is of exactly one kind"
    inputs, targets = batch
    module.eval()
    with torch.no_grad():
        tested = module.test_step(batch, 0)
        predicted = module.predict_step((inputs,), 0)
    assert set(tested) == {"loss", "predictions"} and tested["loss"].dim() == 0
    assert set(predicted) <= {"predictions", "probabilities", "targets"}
    assert torch.equal(predicted["predictions"], tested["predictions"])
    predictions = tested["predictions"]
    assert predictions.shape == targets.shape
    if classes:
        assert (
            not predictions.is_floating_point()
            and 0 <= predictions.min()
            and predictions.max() < datamodule.num_classes
        )
        assert len(datamodule.class_names) == datamodule.num_classes
        assert predicted["probabilities"].shape == predictions.shape
    else:
        assert predictions.shape[1:] == (datamodule.num_outputs,)
    assert isinstance(datamodule.describe_target(predictions[0]), str)
    assert isinstance(datamodule.target_columns(predictions[0]), dict)


def check_optimization(cfg: DictConfig, module: TaskModule) -> None:
    """The combination's optimizer and schedule, instantiated as build_module does, build over the module's
    parameters (they are not part of the module's contract, so the module is built once per net and loss)."""
    optimizer = instantiate(cfg.optimizer)(params=[p for p in module.parameters() if p.requires_grad])
    if cfg.get("scheduler"):
        assert instantiate(cfg.scheduler).lightning_config(optimizer, total_steps=10, total_epochs=2)["scheduler"]


def build_and_check(
    cfg: DictConfig, datamodule: TaskData, batch: tuple[torch.Tensor, torch.Tensor]
) -> TaskModule | str:
    """The module of this net and loss once it kept the contracts with the task's data, or its refusal."""
    try:
        module = build_module(cfg)
        check_net_fits_data(cfg, module.net, datamodule)
    except ConfigError as error:
        return str(error)
    check_pair(datamodule, module, batch)
    assert cfg.task.monitor.split("/")[-1] in {"loss", *module.make_metrics()}, "task.monitor is logged"
    return module


@pytest.fixture
def one_thread() -> None:
    """Nets see 2-4 examples here: with 2 threads on busy cores, waking the second one costs more than the
    work (a small_cnn forward took 130 ms instead of 1 ms)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_every_combination_keeps_the_contracts_or_is_refused_in_one_line(compose_config, one_thread) -> None:
    losses_of = task_losses()
    options = {group: choices(group) for group in GROUPS}
    checked, refused = [], []
    for task in TASKS:
        cfg = compose_config("train", [f"task={task}"])  # installs HydraConfig too
        nodes = {(group, choice): group_node(group, choice, task) for group in GROUPS for choice in options[group]}
        datamodule = build_datamodule(cfg)
        batch = datamodule.example_batch(2)
        modules = {}  # (model, loss) -> the module built for them, or its refusal
        current = {}
        for combination in itertools.product(*(options[group] for group in GROUPS)):
            for group, choice in zip(GROUPS, combination, strict=True):
                if current.get(group) != choice:  # product() changes the last groups most often
                    swap(cfg, group, nodes[group, choice], choice)
                    current[group] = choice
            model, loss = combination[:2]
            expected = expected_refusal(task, model, loss, losses_of[task])
            try:
                check_config(cfg)
            except ConfigError as error:
                assert str(error) == expected, (task, combination)
                refused.append((task, *combination))
                continue
            if (model, loss) not in modules:
                modules[model, loss] = build_and_check(cfg, datamodule, batch)
            module = modules[model, loss]
            if isinstance(module, str):
                assert module == expected, (task, combination)
                refused.append((task, *combination))
                continue
            assert expected is None, (task, combination, "was not refused")
            check_optimization(cfg, module)
            checked.append((task, *combination))
    assert len(checked) + len(refused) == len(TASKS) * len(list(itertools.product(*options.values())))
    assert {task for task, *_ in checked} == set(TASKS), "every task has combinations that run"


def test_swapped_groups_equal_hydra(compose_config) -> None:
    """The combinations above are Hydra's own: for each task, swapping other choices into its composed config
    gives what Hydra composes for those choices."""
    for task in TASKS:
        cfg = compose_config("train", [f"task={task}"])  # installs HydraConfig too
        defaults = dict(HydraConfig.get().runtime.choices)
        picked = {group: next(c for c in choices(group) if c != defaults[group]) for group in GROUPS}
        for group, choice in picked.items():
            swap(cfg, group, group_node(group, choice, task), choice)
        swapped = OmegaConf.to_container(cfg)
        hydra = compose_config("train", [f"task={task}", *(f"{group}={choice}" for group, choice in picked.items())])
        with open_dict(hydra):
            hydra.paths.output_dir = cfg.paths.output_dir
        assert OmegaConf.to_container(hydra) == swapped, (task, picked)


class WithoutPredictions(L.LightningModule):
    """A module a user might write: it trains, but has no ``predict`` for the figures, eval and predict."""

    def __init__(self, net: torch.nn.Module, **injected: object) -> None:
        super().__init__()
        self.net = net


def test_a_datamodule_or_module_without_the_contract_is_refused_in_one_line(compose_config) -> None:
    cfg = compose_config("train", ["task=least_squares", f"module._target_={__name__}.WithoutPredictions"])
    with pytest.raises(ConfigError) as refused:
        build_module(cfg)
    assert str(refused.value) == (
        f"module._target_={__name__}.WithoutPredictions lacks make_metrics, predict of TaskModule "
        "(src/torch_lessons/modules/contract.py)"
    )
    with pytest.raises(ConfigError) as refused:
        check_net_fits_data(cfg, torch.nn.Linear(1, 1), L.LightningDataModule())
    assert str(refused.value) == (
        "data._target_=lightning.pytorch.core.datamodule.LightningDataModule lacks predict_labels, example_batch, "
        "describe_target, target_columns of TaskData (src/torch_lessons/datamodules/contract.py)"
    )
