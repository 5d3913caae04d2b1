"""Predictions for a user's own inputs (image files, or table rows) from a saved checkpoint."""

import csv
from pathlib import Path

from omegaconf import DictConfig, ListConfig, OmegaConf

from torch_lessons.assembly import build_datamodule, build_trainer
from torch_lessons.checkpoints.trained_module import load_trained_module
from torch_lessons.modules.contract import PredictStepOutput

PREDICTIONS_FILE = "predictions.csv"


def user_inputs(inputs: object) -> str | list:
    """``inputs=`` as a path/glob string or a plain list of rows."""
    if isinstance(inputs, ListConfig):
        return OmegaConf.to_container(inputs, resolve=True)
    return inputs if isinstance(inputs, list) else str(inputs)


def predict(cfg: DictConfig) -> list[dict[str, object]]:
    """Prints ``<input>: Predicted: <prediction>`` (with ``(p=…)`` for classes) per input of ``cfg.inputs``,
    writes them to ``predictions.csv`` in the run dir, and returns them as rows of that file.

    The inputs are read and checked (``datamodule.setup("predict")``) before the trainer starts, and go
    through ``trainer.predict`` with the datamodule's predict dataloader and the module's ``predict_step``.
    """
    module = load_trained_module(cfg)
    datamodule = build_datamodule(cfg, predict_inputs=user_inputs(cfg.inputs))
    datamodule.setup("predict")
    trainer = build_trainer(cfg)
    batches: list[PredictStepOutput] = trainer.predict(module, datamodule=datamodule)
    rows: list[dict[str, object]] = []
    labels = iter(datamodule.predict_labels)
    for batch in batches:
        probabilities = batch.get("probabilities")
        for index, predicted in enumerate(batch["predictions"]):
            label = next(labels)
            row: dict[str, object] = {"input": label, **datamodule.target_columns(predicted)}
            line = f"{label}: Predicted: {datamodule.describe_target(predicted)}"
            if probabilities is not None:
                row["probability"] = round(float(probabilities[index]), 6)
                line += f" (p={float(probabilities[index]):.2f})"
            print(line)
            rows.append(row)
    write_rows(Path(cfg.paths.output_dir) / PREDICTIONS_FILE, rows)
    print(f"Wrote {len(rows)} predictions to {Path(cfg.paths.output_dir) / PREDICTIONS_FILE}")
    return rows


def write_rows(path: Path, rows: list[dict[str, object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
