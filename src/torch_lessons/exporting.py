"""The trained net out of the project: ONNX or TorchScript, checked by running the written file."""

import importlib.util
import logging
from pathlib import Path

import torch
from omegaconf import DictConfig
from torch import Tensor, nn

from torch_lessons.assembly import build_datamodule
from torch_lessons.checkpoints.trained_module import load_trained_module
from torch_lessons.errors import ConfigError

FORMATS = {"onnx": ".onnx", "torchscript": ".pt"}
ONNX_MODULES = ("onnx", "onnxscript", "onnxruntime")  # the export extra: pip install -e ".[export]"
TOLERANCE = 1e-5
CHECK_BATCH = 16
CHATTY_LOGGERS = ("onnx_ir", "onnxscript")  # the ONNX exporter's graph passes log every step at INFO


def export_onnx(net: nn.Module, inputs: Tensor, path: Path) -> None:
    """torch's default (torch.export-based) ONNX exporter, with the batch dimension left free."""
    batch = torch.export.Dim("batch")
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    torch.onnx.export(net, (inputs,), str(path), dynamo=True, dynamic_shapes=({0: batch},), verbose=False)


def run_onnx(path: Path, inputs: Tensor) -> Tensor:
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (name,) = [entry.name for entry in session.get_inputs()]
    return torch.from_numpy(session.run(None, {name: inputs.numpy()})[0])


def export_torchscript(net: nn.Module, inputs: Tensor, path: Path) -> None:
    """A traced TorchScript module: fixed example shape, any batch size (the nets have no data-dependent flow)."""
    torch.jit.save(torch.jit.trace(net, inputs), str(path))


def run_torchscript(path: Path, inputs: Tensor) -> Tensor:
    with torch.no_grad():
        return torch.jit.load(str(path), map_location="cpu")(inputs)


def check_format(format_name: str) -> None:
    if format_name not in FORMATS:
        raise ConfigError(f"format={format_name} is not one of: {', '.join(FORMATS)}")
    if format_name == "onnx":
        missing = [name for name in ONNX_MODULES if importlib.util.find_spec(name) is None]
        if missing:
            raise ConfigError(f'format=onnx needs {", ".join(missing)}: pip install -e ".[export]" (the export extra)')


def export(cfg: DictConfig) -> tuple[Path, float]:
    """Writes the checkpoint's net in ``cfg.format`` for inputs shaped like the data's (any batch size),
    runs the written file on a batch of real examples and on a single one, and returns where it
    wrote and the largest difference from the checkpoint's own outputs (refused above 1e-5)."""
    check_format(cfg.format)
    net = load_trained_module(cfg).net.cpu().eval()
    inputs, _ = build_datamodule(cfg).example_batch(CHECK_BATCH)
    inputs = inputs.cpu()
    path = Path(cfg.output_path or Path(cfg.paths.output_dir) / f"net{FORMATS[cfg.format]}")
    path.parent.mkdir(parents=True, exist_ok=True)
    write, run = (export_onnx, run_onnx) if cfg.format == "onnx" else (export_torchscript, run_torchscript)
    with torch.no_grad():
        write(net, inputs[:2], path)
        difference = 0.0
        for batch in (inputs, inputs[:1]):
            expected = net(batch)
            exported = run(path, batch)
            if exported.shape != expected.shape:
                raise ConfigError(
                    f"{path}: gives outputs of shape {list(exported.shape)}, the net {list(expected.shape)}"
                )
            difference = max(difference, float((exported - expected).abs().max()))
    if difference > TOLERANCE:
        raise ConfigError(f"{path}: its outputs differ from the checkpoint's by {difference:.2e} (> {TOLERANCE:g})")
    return path, difference
