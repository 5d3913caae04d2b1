"""README's "Extending" recipes, followed as written: each code block is written to the path in its first line
(configs into a temporary conf dir added with ``hydra.searchpath``, Python files onto ``sys.path``) and each
``python train.py …`` line of the section is composed and trained in-process."""

import csv
import logging
import re
import shlex
from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from conftest import PROJECT_ROOT
from torch_lessons.assembly import build_datamodule, build_module
from torch_lessons.config_choices import unknown_choice
from torch_lessons.errors import ConfigError
from torch_lessons.training import train

SECTION = re.search(r"^## Extending\n(.*?)^## ", (PROJECT_ROOT / "README.md").read_text(), re.M | re.S).group(1)
BLOCKS = re.findall(r"^```(\w+)\n(.*?)^```", SECTION, re.M | re.S)


def file_path(code: str) -> str:
    """The path a block names in its first comment line (after Hydra's ``# @package`` header, which must lead)."""
    first = next(line for line in code.splitlines() if not line.startswith("# @"))
    return first.removeprefix("# ").split(" ")[0]


FILES = {file_path(code): code for kind, code in BLOCKS if kind in ("python", "yaml")}
COMMANDS = [line for kind, code in BLOCKS if kind == "bash" for line in code.splitlines()]


def command(*words: str) -> list[str]:
    """The overrides of the section's ``python train.py`` line that holds all of ``words`` (the shortest one)."""
    line = min((line for line in COMMANDS if all(word in shlex.split(line) for word in words)), key=len)
    program, script, *overrides = shlex.split(line)
    assert (program, script) == ("python", "train.py")
    return overrides


@pytest.fixture
def recipes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every file of the section written where its first line says; returns the conf dir."""
    for name, code in FILES.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(code)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path / "conf"


def run(compose_config, conf: Path, overrides: list[str]) -> tuple[dict[str, float], Path]:
    assert unknown_choice(PROJECT_ROOT / "conf", ["--config-dir", str(conf), *overrides]) is None
    cfg = compose_config("train", [f"hydra.searchpath=[file://{conf}]", *overrides])
    return train(cfg), Path(cfg.paths.output_dir)


def test_the_section_has_every_recipe() -> None:
    assert {"conf/model/two_layer.yaml", "conf/callbacks/epoch_end.yaml", "conf/loss/huber.yaml"} <= set(FILES)
    assert {"conf/scheduler/exponential.yaml", "conf/task/house_prices.yaml", "conf/module/relative_error.yaml"} <= set(
        FILES
    )


def test_a_typo_is_still_one_line_with_added_config_dirs(recipes: Path) -> None:
    message = "model=two_layr is not a choice; choices: linear, mlp_1_2_1, quickstart_mlp, scalar, small_cnn, two_layer"
    assert unknown_choice(PROJECT_ROOT / "conf", ["--config-dir", str(recipes), "model=two_layr"]) == message
    assert unknown_choice(PROJECT_ROOT / "conf", [f"hydra.searchpath=[file://{recipes}]", "model=two_layr"]) == message


def test_a_net(compose_config, recipes: Path) -> None:
    metrics, _ = run(compose_config, recipes, [*command("model=two_layer"), "debug=fast_dev_run"])
    assert "test/acc" in metrics
    cfg = compose_config("train", [f"hydra.searchpath=[file://{recipes}]", "model=two_layer", "model.hidden=32"])
    assert [layer.out_features for layer in build_module(cfg).net.layers if hasattr(layer, "out_features")] == [32, 10]


def test_early_stopping(compose_config, recipes: Path, caplog) -> None:
    quoted = re.search(r"`(early stopping: [^`]+)`", SECTION.replace("\n", " ")).group(1)
    with caplog.at_level(logging.INFO, logger="torch_lessons"):
        metrics, _ = run(compose_config, recipes, [*command("callbacks=[default,early_stopping]"), "logger=none"])
    assert [record.getMessage() for record in caplog.records if record.getMessage().startswith("early")] == [quoted]
    assert metrics["epochs"] == 5


def test_a_callback_of_your_own(compose_config, recipes: Path, capsys) -> None:
    metrics, _ = run(compose_config, recipes, [*command("callbacks=[default,epoch_end]"), "logger=none"])
    printed = [line for line in capsys.readouterr().out.splitlines() if line.startswith("epoch ")]
    assert [line.split(" done")[0] for line in printed] == ["epoch 1", "epoch 2", "epoch 3"]
    assert printed[-1].endswith(f"val/loss {metrics['val/loss']:.4f}")


def test_a_loss(compose_config, recipes: Path) -> None:
    overrides = command("loss=huber")
    with pytest.raises(ConfigError, match="^loss=huber does not fit task=fruit_yield; losses that fit: mse$"):
        run(compose_config, recipes, [override for override in overrides if not override.startswith("task.")])
    cfg = compose_config("train", [f"hydra.searchpath=[file://{recipes}]", *overrides])
    assert isinstance(build_module(cfg).loss, torch.nn.HuberLoss) and build_module(cfg).loss.delta == 5.0
    metrics, _ = run(compose_config, recipes, [*overrides, "trainer.max_epochs=3", "logger=none"])
    assert metrics["epochs"] == 3


def test_a_scheduler(compose_config, recipes: Path) -> None:
    _, run_dir = run(compose_config, recipes, [*command("scheduler=exponential"), "logger=csv"])
    with (run_dir / "csv" / "metrics.csv").open() as file:
        rates = [float(row["train/lr"]) for row in csv.DictReader(file) if row.get("train/lr")]
    assert rates == pytest.approx([0.01, 0.005, 0.0025])
    assert "`train/lr` is then 0.01, 0.005, 0.0025 in the three epochs" in SECTION


def test_a_task_with_its_own_data(compose_config, recipes: Path) -> None:
    overrides = command("task=house_prices")
    cfg = compose_config("train", [f"hydra.searchpath=[file://{recipes}]", *overrides])
    untrained = build_module(cfg)
    inputs, targets = build_datamodule(cfg).example_batch(6)
    with torch.no_grad():
        untrained_loss = float(untrained.loss(untrained(inputs), targets))
    metrics, run_dir = run(compose_config, recipes, overrides)
    assert metrics["epochs"] == 30 and metrics["test/loss"] < untrained_loss / 10, (metrics, untrained_loss)
    events = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"images": 0})
    events.Reload()
    assert events.Tags()["images"] == ["test/predicted_vs_actual"]  # picked from the data's kind


def test_a_new_task_kind(compose_config, recipes: Path) -> None:
    metrics, run_dir = run(compose_config, recipes, [*command("module=relative_error"), "logger=none"])
    cfg = compose_config("train", [f"hydra.searchpath=[file://{recipes}]", *command("module=relative_error")])
    module = build_module(cfg)
    module.load_state_dict(torch.load(run_dir / "checkpoints" / "last.ckpt")["state_dict"])
    inputs, targets = build_datamodule(cfg).example_batch(6)
    with torch.no_grad():
        relative = module(inputs) / targets
    assert metrics["val/loss"] == pytest.approx(float(((relative - 1) ** 2).mean()), rel=1e-5)
    assert metrics["val/mape"] == pytest.approx(float((relative - 1).abs().mean()), rel=1e-5)
