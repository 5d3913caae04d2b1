"""Chooses the settings of the tuned presets on validation only; prints one table per preset.

Each candidate (the preset's own settings, or the preset with a few overrides) is trained once per
validation split: the bundled sample's training images with ``--val-fraction`` of them held out, drawn
with each ``data.split_seed`` of ``--split-seeds``. A split's figure is the validation accuracy after the
last epoch (not the best epoch: that maximum over epochs would favour the noisiest candidate). The
candidate with the best mean over the splits is the choice; the test split is never evaluated here.
A larger validation share and several splits are needed because the preset's own 362 validation images
cannot separate variants: one image is 0.28%.

    python benchmarks/tune_presets.py --preset mlp              # all MLP candidates, splits 1 2 3
    python benchmarks/tune_presets.py --preset cnn --only current cosine
Then train the chosen preset on the default split and read its test accuracy:
    python train.py experiment=fashion_mnist_cnn

Runs one training at a time with one torch thread (``--threads``), each in this process.
"""

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import open_dict

from torch_lessons.training import train

PROJECT_ROOT = Path(__file__).resolve().parents[1]

# Candidates per preset: a name and the overrides that make it from the preset as committed (the chosen
# settings, so their overrides are empty). The others are the previous presets (constant learning rate:
# MLP 40 epochs; CNN lr 2e-3, shifts of up to 2 pixels) and variants of them.
PREVIOUS_MLP = ["scheduler=none", "trainer.max_epochs=40"]
PREVIOUS_CNN = ["scheduler=none", "optimizer.lr=2e-3", "data.train_augmentation.max_shift=2"]
CANDIDATES: dict[str, dict[str, list[str]]] = {
    "mlp": {
        "60 epochs, cosine (chosen)": [],
        "60 epochs": ["scheduler=none"],
        "previous (40 epochs)": PREVIOUS_MLP,
        "40 epochs, cosine": ["trainer.max_epochs=40"],
        "40 epochs, onecycle": ["scheduler=onecycle", "trainer.max_epochs=40"],
        "40 epochs, onecycle lr 3e-3": ["scheduler=onecycle", "optimizer.lr=3e-3", "trainer.max_epochs=40"],
        "40 epochs, no augmentation": [*PREVIOUS_MLP, "data.train_augmentation=null"],
        "40 epochs, dropout 0.4": [*PREVIOUS_MLP, "model.dropout=0.4"],
    },
    "cnn": {
        "onecycle lr 5e-3, shift 1 (chosen)": [],
        "previous (lr 2e-3, shift 2)": PREVIOUS_CNN,
        "cosine": ["scheduler=cosine", "optimizer.lr=2e-3", "data.train_augmentation.max_shift=2"],
        "onecycle": ["optimizer.lr=2e-3", "data.train_augmentation.max_shift=2"],
        "onecycle lr 5e-3": ["data.train_augmentation.max_shift=2"],
        "shift 1": ["scheduler=none", "optimizer.lr=2e-3"],
        "weight decay 0.01": [*PREVIOUS_CNN, "optimizer.weight_decay=0.01"],
    },
}
EXPERIMENTS = {"mlp": "fashion_mnist_mlp_best", "cnn": "fashion_mnist_cnn"}


def validation_accuracy(
    experiment: str, overrides: list[str], split_seed: int, val_fraction: float, root: Path
) -> float:
    """Trains ``experiment`` with ``overrides`` on one split and returns its last-epoch ``val/acc``."""
    GlobalHydra.instance().clear()
    run_dir = Path(tempfile.mkdtemp(dir=root))
    with initialize_config_dir(config_dir=str(PROJECT_ROOT / "conf"), version_base="1.3"):
        cfg = compose(
            "train",
            overrides=[
                f"experiment={experiment}",
                *overrides,
                "data.source=sample",
                f"data.val_fraction={val_fraction}",
                f"data.split_seed={split_seed}",
                "trainer.accelerator=cpu",
                "+trainer.enable_progress_bar=false",
                "+trainer.enable_model_summary=false",
                "logger=none",
                "callbacks=none",
                "test=false",
                f"paths.data_dir={root / 'data'}",
                f"paths.log_dir={root / 'outputs'}",
                f"paths.output_dir={run_dir}",
            ],
            return_hydra_config=True,
        )
    HydraConfig.instance().set_config(cfg)  # as @hydra.main does: train() reads the runtime choices
    with open_dict(cfg):
        del cfg.hydra
    return train(cfg)["val/acc"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", choices=sorted(CANDIDATES), required=True)
    parser.add_argument("--only", nargs="+", metavar="NAME", help="candidates to run (default: all)")
    parser.add_argument("--split-seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--val-fraction", type=float, default=0.2)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (one training at a time)")
    args = parser.parse_args()
    candidates = CANDIDATES[args.preset]
    unknown = sorted(set(args.only or []) - set(candidates))
    if unknown:
        choices = ", ".join(f"'{name}'" for name in candidates)
        parser.error(f"--only {', '.join(unknown)}: not a candidate of --preset {args.preset}; choices: {choices}")
    names = args.only or list(candidates)
    torch.set_num_threads(args.threads)
    os.environ.setdefault("PROJECT_ROOT", str(PROJECT_ROOT))
    experiment = EXPERIMENTS[args.preset]
    rows = []
    with tempfile.TemporaryDirectory(prefix="tune-presets-") as temp:
        for name in names:
            accuracies, start = [], time.perf_counter()
            for split_seed in args.split_seeds:
                accuracies.append(
                    validation_accuracy(experiment, candidates[name], split_seed, args.val_fraction, Path(temp))
                )
                print(f"# {name} split_seed={split_seed}: val/acc {accuracies[-1]:.4f}", flush=True)
            seconds = (time.perf_counter() - start) / len(args.split_seeds)
            rows.append((name, candidates[name], accuracies, statistics.mean(accuracies), seconds))
    splits = " | ".join(f"split {seed}" for seed in args.split_seeds)
    print(f"\nexperiment={experiment}, val_fraction {args.val_fraction}, torch threads {args.threads}")
    print("last-epoch validation accuracy per split (data.split_seed), best mean first:")
    print(f"| candidate | overrides | {splits} | mean | s per run |")
    print("|---|---|" + "---|" * len(args.split_seeds) + "---|---|")
    for name, overrides, accuracies, mean, seconds in sorted(rows, key=lambda row: -row[3]):
        cells = " | ".join(f"{100 * value:.1f}%" for value in accuracies)
        print(f"| {name} | {' '.join(overrides) or '(preset)'} | {cells} | {100 * mean:.2f}% | {seconds:.0f} |")
    print(f"best mean: {max(rows, key=lambda row: row[3])[0]}")


if __name__ == "__main__":
    main()
