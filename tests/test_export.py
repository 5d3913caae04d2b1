"""export.py writes a net that runs outside the project and gives the checkpoint's outputs, any batch size."""

from pathlib import Path

import onnxruntime
import pytest
import torch

from conftest import SMALL_CNN, run_script
from torch_lessons.checkpoints.trained_module import load_trained_module
from torch_lessons.errors import ConfigError
from torch_lessons.exporting import export
from torch_lessons.training import train


def run_export(compose_config, checkpoint: Path, format_name: str) -> tuple[Path, float, torch.nn.Module]:
    cfg = compose_config("export", [*SMALL_CNN, f"ckpt_path={checkpoint}", f"format={format_name}"])
    path, difference = export(cfg)
    return path, difference, load_trained_module(cfg).net


def test_onnx_export_runs_in_onnxruntime_with_any_batch_size(compose_config, small_cnn_checkpoint: Path) -> None:
    path, difference, net = run_export(compose_config, small_cnn_checkpoint, "onnx")
    assert path.name == "net.onnx" and path.is_file() and difference <= 1e-5
    inputs = torch.rand(5, 1, 28, 28)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (outputs,) = session.run(None, {session.get_inputs()[0].name: inputs.numpy()})
    with torch.no_grad():
        assert torch.allclose(torch.from_numpy(outputs), net(inputs), atol=1e-5)


def test_torchscript_export_loads_without_the_project(compose_config, small_cnn_checkpoint: Path) -> None:
    path, difference, net = run_export(compose_config, small_cnn_checkpoint, "torchscript")
    assert path.name == "net.pt" and difference <= 1e-5
    inputs = torch.rand(3, 1, 28, 28)
    with torch.no_grad():
        assert torch.allclose(torch.jit.load(str(path))(inputs), net(inputs), atol=1e-5)


def test_unknown_format_is_one_line(compose_config, small_cnn_checkpoint: Path) -> None:
    with pytest.raises(ConfigError, match="^format=tflite is not one of: onnx, torchscript$"):
        export(compose_config("export", [*SMALL_CNN, f"ckpt_path={small_cnn_checkpoint}", "format=tflite"]))


def test_export_script_prints_where_it_wrote(compose_config, tmp_path: Path) -> None:
    """The user's command on a regression checkpoint (a table net: inputs of 3 values)."""
    cfg = compose_config("train", ["task=fruit_yield", "trainer.max_epochs=1", "logger=none", "test=false"])
    train(cfg)
    result = run_script(
        "export.py",
        "task=fruit_yield",
        f"ckpt_path={cfg.paths.output_dir}/checkpoints/last.ckpt",
        "format=torchscript",
        f"paths.log_dir={tmp_path}",
    )
    (run_dir,) = (tmp_path / "export").glob("*/*")
    assert f"Wrote {run_dir / 'net.pt'} (torchscript); max difference from the checkpoint's outputs: " in result.stdout
