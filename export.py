"""Export a checkpoint's net: `python export.py ckpt_path=<last.ckpt> format=onnx|torchscript`."""

import os
from pathlib import Path

import hydra
from omegaconf import DictConfig

from torch_lessons.entry_point import run_entry_point

os.environ.setdefault("PROJECT_ROOT", str(Path(__file__).resolve().parent))


@hydra.main(version_base="1.3", config_path="conf", config_name="export")
def main(cfg: DictConfig) -> None:
    from torch_lessons.errors import exit_on_config_error
    from torch_lessons.exporting import export

    with exit_on_config_error():
        path, difference = export(cfg)
        print(f"Wrote {path} ({cfg.format}); max difference from the checkpoint's outputs: {difference:.2e}")


if __name__ == "__main__":
    run_entry_point(main, __file__)
