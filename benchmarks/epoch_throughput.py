"""Whole-epoch time of the Quickstart MLP trained four ways, interleaved in one process; prints ratios.

Each epoch is timed as a user waits for it: training on 60k images, validation on 10k, the epoch-end
work and the checkpoint (from the epoch's first batch to its end, Trainer start-up excluded).

(1) raw: a hand-written PyTorch loop over in-memory uint8 tensors (one index op per batch), then a
    no-grad validation pass and ``torch.save`` of the model and optimizer;
(1b) the same raw loop with a per-step CosineAnnealingLR and ``clip_grad_norm_(..., 1.0)``: the work
    that (3) adds, written by hand;
(2) project: the project's own run (conf/train.yaml defaults: in-memory datamodule, batch groups,
    the default callbacks and TensorBoard);
(3) project with ``scheduler=cosine trainer.gradient_clip_val=1.0``;
(4) plain: an automatic-optimization LightningModule (``self.log`` of the loss every step, val loss
    and accuracy) over the same in-memory batches, with RichProgressBar, TensorBoard and
    ModelCheckpoint(monitor="val/acc", save_last=True);
(4b) the same plain module with a per-step CosineAnnealingLR (``interval: step``) and
    ``Trainer(gradient_clip_val=1.0)``: Lightning's own way of doing what (3) does.
All: MLP 784-512-512-10, batch 64, SGD lr 1e-3, CPU. Targets: (2) and (3) ≤ 1.10 × (1), ≤ 0.75 × (4);
(3) is also shown against (1b) and (4b), which pay for the same clipping and schedule.

    python benchmarks/epoch_throughput.py [--repeats 3]
"""

import argparse
import platform
import statistics
import tempfile
import time
from pathlib import Path

import lightning as L
import torch
from hydra import compose, initialize_config_dir
from idx_data import PROJECT_ROOT, benchmark_data_dir
from lightning.pytorch.callbacks import ModelCheckpoint, RichProgressBar
from lightning.pytorch.loggers import TensorBoardLogger
from torch import nn
from torchvision.datasets import FashionMNIST

from torch_lessons.assembly import build_datamodule, build_module, build_trainer
from torch_lessons.datamodules.fashion_mnist import images_to_float
from torch_lessons.datamodules.fashion_mnist_source import FULL_DIR_NAME
from torch_lessons.datamodules.in_memory import EpochPermutation, InMemoryBatches
from torch_lessons.nets.mlp import MLP

BATCH_SIZE = 64
LEARNING_RATE = 1e-3
LAYER_SIZES = [784, 512, 512, 10]


class RawRun:
    """The hand-written loop: train, validate, save, as a PyTorch user writes them."""

    def __init__(self, train_split: tuple, val_split: tuple, output_dir: Path, cosine_and_clip: bool = False) -> None:
        self.train_images, self.train_labels = train_split
        self.val_images, self.val_labels = val_split
        self.net = MLP(LAYER_SIZES)
        self.optimizer = torch.optim.SGD(self.net.parameters(), lr=LEARNING_RATE)
        self.loss = nn.CrossEntropyLoss()
        self.path = output_dir / ("raw_cosine_clip.pt" if cosine_and_clip else "raw.pt")
        self.epochs = 0
        self.clip = cosine_and_clip
        steps = 10 * -(-len(self.train_images) // BATCH_SIZE)
        self.schedule = torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, steps) if cosine_and_clip else None

    def epoch(self) -> float:
        start = time.perf_counter()
        generator = torch.Generator().manual_seed(self.epochs)
        order = torch.randperm(len(self.train_images), generator=generator)
        self.net.train()
        for first in range(0, len(order), BATCH_SIZE):
            rows = order[first : first + BATCH_SIZE]
            loss = self.loss(self.net(images_to_float(self.train_images[rows])), self.train_labels[rows])
            loss.backward()
            if self.clip:
                nn.utils.clip_grad_norm_(self.net.parameters(), 1.0)
            self.optimizer.step()
            self.optimizer.zero_grad()
            if self.schedule is not None:
                self.schedule.step()
        self.net.eval()
        total_loss, correct = torch.zeros(()), torch.zeros((), dtype=torch.long)
        with torch.no_grad():
            for first in range(0, len(self.val_images), BATCH_SIZE):
                outputs = self.net(images_to_float(self.val_images[first : first + BATCH_SIZE]))
                labels = self.val_labels[first : first + BATCH_SIZE]
                total_loss += self.loss(outputs, labels) * len(labels)
                correct += (outputs.argmax(dim=-1) == labels).sum()
        print(f"  raw val/loss {total_loss.item() / len(self.val_images):.4f}", end="")
        torch.save({"model": self.net.state_dict(), "optimizer": self.optimizer.state_dict()}, self.path)
        self.epochs += 1
        return time.perf_counter() - start


class EpochTimer(L.Callback):
    """Wall time from an epoch's start to its end: training, validation, checkpoint, epoch-end hooks."""

    def on_train_epoch_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.start = time.perf_counter()

    def on_train_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.end = time.perf_counter()


class ProjectRun:
    """The project's objects, built once from conf/train.yaml; each ``epoch()`` is one more epoch."""

    def __init__(self, data_dir: Path, output_dir: Path, overrides: tuple[str, ...] = ()) -> None:
        with initialize_config_dir(config_dir=str(PROJECT_ROOT / "conf"), version_base="1.3"):
            self.cfg = compose(
                "train",
                overrides=[
                    "data.source=full",
                    "data.validate_on_test=true",  # train on all 60k images, validate on the 10k test images
                    "data.batch_size=64",
                    "optimizer=sgd",
                    "optimizer.lr=1e-3",
                    "trainer.accelerator=cpu",
                    "+trainer.num_sanity_val_steps=0",
                    f"paths.data_dir={data_dir}",
                    f"paths.output_dir={output_dir}",
                    *overrides,
                ],
            )
        self.datamodule = build_datamodule(self.cfg)
        self.module = build_module(self.cfg)

    def epoch(self) -> float:
        timer = EpochTimer()
        trainer = build_trainer(self.cfg, extra_callbacks=[timer])
        trainer.fit_loop.max_epochs = 1
        trainer.fit(self.module, datamodule=self.datamodule)
        return timer.end - timer.start


class PlainModule(L.LightningModule):
    """What a Lightning user writes first: automatic optimization, ``self.log`` in each step; with
    ``cosine_steps``, a per-step cosine schedule as Lightning's docs write one."""

    def __init__(self, cosine_steps: int | None = None) -> None:
        super().__init__()
        self.net = MLP(LAYER_SIZES)
        self.loss = nn.CrossEntropyLoss()
        self.cosine_steps = cosine_steps

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_index: int) -> torch.Tensor:
        images, labels = batch
        loss = self.loss(self.net(images), labels)
        self.log("train/loss", loss)
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_index: int) -> None:
        images, labels = batch
        outputs = self.net(images)
        self.log("val/loss", self.loss(outputs, labels))
        self.log("val/acc", (outputs.argmax(dim=-1) == labels).float().mean())

    def configure_optimizers(self) -> torch.optim.Optimizer | dict:
        optimizer = torch.optim.SGD(self.parameters(), lr=LEARNING_RATE)
        if self.cosine_steps is None:
            return optimizer
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, self.cosine_steps)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}


class PlainRun:
    def __init__(self, train_split: tuple, val_split: tuple, output_dir: Path, cosine_and_clip: bool = False) -> None:
        self.module = PlainModule(10 * -(-len(train_split[0]) // BATCH_SIZE) if cosine_and_clip else None)
        self.gradient_clip_val = 1.0 if cosine_and_clip else None
        self.output_dir = output_dir
        sampler = EpochPermutation(len(train_split[0]), shuffle=True, seed=0)
        self.train_batches = InMemoryBatches(*train_split, BATCH_SIZE, sampler, images_to_float)
        val_sampler = EpochPermutation(len(val_split[0]), shuffle=False, seed=0)
        self.val_batches = InMemoryBatches(*val_split, BATCH_SIZE, val_sampler, images_to_float)
        self.logger = TensorBoardLogger(output_dir, name="plain")

    def epoch(self) -> float:
        timer = EpochTimer()
        checkpoint = ModelCheckpoint(self.output_dir / "checkpoints", monitor="val/acc", mode="max", save_last=True)
        trainer = L.Trainer(
            accelerator="cpu",
            max_epochs=1,
            num_sanity_val_steps=0,
            callbacks=[RichProgressBar(), checkpoint, timer],
            logger=self.logger,
            enable_model_summary=False,
            gradient_clip_val=self.gradient_clip_val,
        )
        trainer.fit(self.module, train_dataloaders=self.train_batches, val_dataloaders=self.val_batches)
        return timer.end - timer.start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    arguments = parser.parse_args()

    data_dir, data_description = benchmark_data_dir()
    root = str(data_dir / FULL_DIR_NAME)
    train_data, test_data = FashionMNIST(root, train=True), FashionMNIST(root, train=False)
    train_split, val_split = (train_data.data, train_data.targets), (test_data.data, test_data.targets)
    output_dir = Path(tempfile.mkdtemp(prefix="epoch-throughput-"))
    torch.manual_seed(0)
    runs = {
        "raw": RawRun(train_split, val_split, output_dir),
        "raw_cosine_clip": RawRun(train_split, val_split, output_dir, cosine_and_clip=True),
        "project": ProjectRun(data_dir, output_dir / "project"),
        "project_cosine_clip": ProjectRun(
            data_dir, output_dir / "cosine", ("scheduler=cosine", "trainer.gradient_clip_val=1.0")
        ),
        "plain": PlainRun(train_split, val_split, output_dir / "plain"),
        "plain_cosine_clip": PlainRun(train_split, val_split, output_dir / "plain_cosine", cosine_and_clip=True),
    }
    times: dict[str, list[float]] = {name: [] for name in runs}
    for repeat in range(arguments.repeats):
        for name, run in runs.items():
            times[name].append(run.epoch())
        print(f"\nround {repeat + 1}: " + ", ".join(f"{name} {values[-1]:.2f} s" for name, values in times.items()))

    total = {name: sum(values) for name, values in times.items()}
    median = {name: statistics.median(values) for name, values in times.items()}
    print(
        f"\n{len(train_split[0]):,} training + {len(val_split[0]):,} validation images, batch {BATCH_SIZE}; "
        f"data: {data_description}"
    )
    print(
        f"machine: {platform.processor() or platform.machine()}, torch threads {torch.get_num_threads()}, "
        f"torch {torch.__version__}, lightning {L.__version__}; {arguments.repeats} interleaved rounds\n"
    )
    labels = {
        "raw": "(1) raw PyTorch loop, in memory",
        "raw_cosine_clip": "(1b) raw loop + cosine + clip 1.0",
        "project": "(2) project, defaults",
        "project_cosine_clip": "(3) project, scheduler=cosine + clip 1.0",
        "plain": "(4) plain LightningModule, same batches",
        "plain_cosine_clip": "(4b) plain LightningModule + cosine + clip 1.0",
    }
    print(f"| {'path':<48} | median epoch s | / raw (sums) |")
    print(f"|{'-' * 50}|---------------:|-------------:|")
    for name, label in labels.items():
        print(f"| {label:<48} | {median[name]:>14.2f} | {total[name] / total['raw']:>12.2f} |")
    print()
    for top, bottom, target in (
        ("project", "raw", "target <= 1.10"),
        ("project_cosine_clip", "raw", "target <= 1.10"),
        ("project_cosine_clip", "raw_cosine_clip", "(same work)"),
        ("project", "plain", "target <= 0.75"),
        ("project_cosine_clip", "plain", "target <= 0.75"),
        ("project_cosine_clip", "plain_cosine_clip", "(same work)"),
    ):
        ratio = total[top] / total[bottom]
        print(f"{labels[top].split()[0]}/{labels[bottom].split()[0]}: {ratio:.2f}   ({target}, ratio of sums)")


if __name__ == "__main__":
    main()
