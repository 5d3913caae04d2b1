"""train.py and eval.py run as a user runs them: the run dir's layout, TensorBoard, printed lines."""

import json
import re
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

from conftest import run_script

CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


@pytest.fixture(scope="module")
def training_run(tmp_path_factory) -> tuple[Path, str, str]:
    """Two real epochs of the default experiment (the Quickstart) on the bundled sample."""
    outputs = tmp_path_factory.mktemp("outputs")
    data = tmp_path_factory.mktemp("data")
    result = run_script(
        "train.py", "trainer.max_epochs=2", "data.source=sample", f"paths.log_dir={outputs}", f"paths.data_dir={data}"
    )
    (run_dir,) = (outputs / "runs").glob("*/*")
    return run_dir, result.stdout, result.stderr


def test_train_leaves_config_checkpoints_and_event_files(training_run) -> None:
    run_dir, stdout, _ = training_run
    assert (run_dir / ".hydra" / "config.yaml").is_file() and (run_dir / "train.log").is_file()
    checkpoints = sorted(path.name for path in (run_dir / "checkpoints").glob("*.ckpt"))
    assert "last.ckpt" in checkpoints and any(re.fullmatch(r"epoch_00\d\.ckpt", name) for name in checkpoints)
    assert re.search(r"^Test: Accuracy: \d+\.\d%, Avg loss: \d+\.\d{6}$", stdout, flags=re.MULTILINE), stdout
    assert "Fashion-MNIST: using the sample set (data.source=sample)" in stdout
    assert f"Run dir: {run_dir}" in stdout


def test_tensorboard_has_loss_and_accuracy_per_split(training_run) -> None:
    run_dir, _, _ = training_run
    events = EventAccumulator(str(run_dir / "tensorboard"))
    events.Reload()
    scalars = set(events.Tags()["scalars"])
    expected = {f"{split}/{metric}" for split in ("train", "val", "test") for metric in ("loss", "acc")}
    assert expected <= scalars, scalars
    assert "train/lr" in scalars
    assert len(events.Scalars("val/acc")) == 2


def test_eval_prints_quickstart_prediction_lines(training_run, tmp_path: Path) -> None:
    run_dir, _, _ = training_run
    result = run_script(
        "eval.py",
        f"ckpt_path={run_dir / 'checkpoints' / 'last.ckpt'}",
        "num_predictions=5",
        "data.source=sample",
        f"paths.log_dir={tmp_path}",
        f"paths.data_dir={tmp_path / 'data'}",
    )
    names = "|".join(re.escape(name) for name in CLASS_NAMES)
    lines = re.findall(rf'^Predicted: "({names})", Actual: "({names})"$', result.stdout, flags=re.MULTILINE)
    assert [actual for _, actual in lines] == ["Ankle boot", "Pullover", "Trouser", "Trouser", "Shirt"]
    assert re.search(r"^Test: Accuracy: \d+\.\d%, Avg loss: \d+\.\d{6}$", result.stdout, flags=re.MULTILINE)


def hparams_plugin_data(events: EventAccumulator, tag: str) -> plugin_data_pb2.HParamsPluginData:
    return plugin_data_pb2.HParamsPluginData.FromString(events.PluginTagToContent("hparams")[tag])


def test_tensorboard_hparams_and_images(training_run) -> None:
    """The HParams tab gets the run's knobs with its real final metrics; the Images tab the test figures."""
    run_dir, _, _ = training_run
    events = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"images": 0})
    events.Reload()
    experiment = hparams_plugin_data(events, "_hparams_/experiment").experiment
    assert {"optimizer", "lr", "loss", "batch_size", "model", "seed"} <= {info.name for info in experiment.hparam_infos}
    metric_tags = {info.name.tag for info in experiment.metric_infos}
    assert {"hp/val_acc", "hp/test_acc", "hp/train_loss", "hp/epochs"} <= metric_tags
    hparams = hparams_plugin_data(events, "_hparams_/session_start_info").session_start_info.hparams
    assert (hparams["optimizer"].string_value, hparams["seed"].number_value) == ("sgd", 42)
    assert hparams["lr"].number_value == 1e-3 and hparams["data.source"].string_value == "sample"
    assert events.Scalars("hp/epochs")[-1].value == 2 and 0 < events.Scalars("hp/val_acc")[-1].value <= 1
    assert {"test/predictions", "test/confusion_matrix"} <= set(events.Tags()["images"])
    assert events.Images("test/confusion_matrix")[-1].width >= 400


# Library output this project silences because it does not apply here (src/torch_lessons/library_warnings.py).
NOT_APPLYING = ("is smaller than the logging interval", "The `srun` command is available", "LeafSpec", "💡 Tip")


def test_run_prints_no_library_warning_that_does_not_apply(training_run) -> None:
    _, _, stderr = training_run
    assert [line for line in stderr.splitlines() if any(text in line for text in NOT_APPLYING)] == []
    assert "INFO: `Trainer.fit` stopped: `max_epochs=2` reached." in stderr.splitlines(), "Lightning's own lines stay"


def test_run_dir_has_config_tree_and_result(training_run) -> None:
    run_dir, stdout, _ = training_run
    tree = (run_dir / "config_tree.txt").read_text()
    assert tree.startswith("config\n") and "├── optimizer" in tree and "lr: 0.001" in tree
    assert "├── optimizer" in stdout
    result = json.loads((run_dir / "result.json").read_text())
    assert result["status"] == "ok" and result["epochs"] == 2 and result["optimized_metric"] == "val/acc"
    assert set(result["metrics"]) >= {"train/loss", "val/acc", "test/acc"}
