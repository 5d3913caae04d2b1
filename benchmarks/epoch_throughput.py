"""Epoch time of the Quickstart MLP trained four ways, alternated in one process; prints ratios.

(1) the tutorial's loop: torchvision ``ToTensor()`` per image + DataLoader, batch 64;
(2) a raw PyTorch loop over an in-memory uint8 tensor (one index op per batch);
(3) the project's own training path (in-memory datamodule, LightningModule, Trainer with the
    default callbacks and TensorBoard logger), timed over the training batches of an epoch;
(3b) the same with data.batches_per_group=1: one batch per training_step call (what grouping buys);
(4) the matmul bound: the FLOPs of one step's GEMMs divided by the GEMM rate measured on them.
All use the same 60k images, MLP 784-512-512-10, batch 64, SGD lr 1e-3, CPU.

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
from torch import nn
from torch.utils.data import DataLoader
from torchvision.datasets import FashionMNIST
from torchvision.transforms import ToTensor

from torch_lessons.assembly import build_datamodule, build_module, build_trainer
from torch_lessons.datamodules.fashion_mnist_source import FULL_DIR_NAME
from torch_lessons.nets.mlp import MLP

BATCH_SIZE = 64
LEARNING_RATE = 1e-3
LAYER_SIZES = [784, 512, 512, 10]


def tutorial_epoch(dataset: FashionMNIST, net: nn.Module, optimizer: torch.optim.Optimizer) -> float:
    """The Quickstart's ``train`` function, including its ``loss.item()`` every 100 batches."""
    loss_function = nn.CrossEntropyLoss()
    start = time.perf_counter()
    for batch, (images, labels) in enumerate(DataLoader(dataset, batch_size=BATCH_SIZE)):
        loss = loss_function(net(images), labels)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if batch % 100 == 0:
            loss.item()
    return time.perf_counter() - start


def raw_epoch(images: torch.Tensor, labels: torch.Tensor, net: nn.Module, optimizer: torch.optim.Optimizer) -> float:
    loss_function = nn.CrossEntropyLoss()
    start = time.perf_counter()
    order = torch.randperm(len(images))
    for first in range(0, len(images), BATCH_SIZE):
        rows = order[first : first + BATCH_SIZE]
        loss = loss_function(net(images[rows].unsqueeze(1).float().div_(255)), labels[rows])
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    return time.perf_counter() - start


class TrainBatchesTimer(L.Callback):
    """Wall time from the start of the training epoch to the end of its last training batch."""

    def on_train_epoch_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.start = self.end = time.perf_counter()

    def on_train_batch_end(self, *args) -> None:
        self.end = time.perf_counter()


class ProjectRun:
    """The project's objects, built once from conf/train.yaml; each ``epoch()`` is one Trainer.fit."""

    def __init__(self, data_dir: Path, output_dir: Path, overrides: tuple[str, ...] = ()) -> None:
        with initialize_config_dir(config_dir=str(PROJECT_ROOT / "conf"), version_base="1.3"):
            self.cfg = compose(
                "train",
                overrides=[
                    "data.source=full",
                    "data.validate_on_test=true",  # train on all 60k images, as (1) and (2) do
                    "data.batch_size=64",
                    "optimizer=sgd",
                    "optimizer.lr=1e-3",
                    "trainer.accelerator=cpu",
                    "trainer.max_epochs=1",
                    "+trainer.num_sanity_val_steps=0",
                    f"paths.data_dir={data_dir}",
                    f"paths.output_dir={output_dir}",
                    *overrides,
                ],
            )
        self.datamodule = build_datamodule(self.cfg)
        self.module = build_module(self.cfg)
        self.epochs = 0

    def epoch(self) -> float:
        timer = TrainBatchesTimer()
        self.epochs += 1
        trainer = build_trainer(self.cfg, extra_callbacks=[timer])
        trainer.fit_loop.max_epochs = 1
        trainer.fit(self.module, datamodule=self.datamodule)
        return timer.end - timer.start


def matmul_bound_epoch(steps: int, repeats: int = 200) -> tuple[float, float]:
    """The epoch time if only the GEMMs of each step ran: FLOPs per step / measured GEMM rate."""
    batch = BATCH_SIZE
    shapes = []  # (m, k, n): forward y = x W^T, then the weight gradients and the input gradients
    for size_in, size_out in zip(LAYER_SIZES, LAYER_SIZES[1:], strict=False):
        shapes += [(batch, size_in, size_out), (size_out, batch, size_in)]
    shapes += [
        (batch, size_out, size_in) for size_in, size_out in zip(LAYER_SIZES[1:-1], LAYER_SIZES[2:], strict=False)
    ]
    operands = [(torch.randn(m, k), torch.randn(k, n)) for m, k, n in shapes]
    flops_per_step = sum(2 * m * k * n for m, k, n in shapes)
    for left, right in operands:
        left @ right
    start = time.perf_counter()
    for _ in range(repeats):
        for left, right in operands:
            left @ right
    rate = flops_per_step * repeats / (time.perf_counter() - start)
    return steps * flops_per_step / rate, rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    arguments = parser.parse_args()

    data_dir, data_description = benchmark_data_dir()
    root = str(data_dir / FULL_DIR_NAME)
    tutorial_data = FashionMNIST(root, train=True, transform=ToTensor())
    images, labels = tutorial_data.data, tutorial_data.targets
    steps = -(-len(images) // BATCH_SIZE)
    torch.manual_seed(0)
    tutorial_net, raw_net = MLP(LAYER_SIZES), MLP(LAYER_SIZES)
    tutorial_optimizer = torch.optim.SGD(tutorial_net.parameters(), lr=LEARNING_RATE)
    raw_optimizer = torch.optim.SGD(raw_net.parameters(), lr=LEARNING_RATE)
    project = ProjectRun(data_dir, Path(tempfile.mkdtemp(prefix="epoch-throughput-")))
    ungrouped = ProjectRun(data_dir, Path(tempfile.mkdtemp(prefix="epoch-throughput-")), ("data.batches_per_group=1",))

    times: dict[str, list[float]] = {"tutorial": [], "raw": [], "project": [], "ungrouped": [], "matmul": []}
    for repeat in range(arguments.repeats):
        times["tutorial"].append(tutorial_epoch(tutorial_data, tutorial_net, tutorial_optimizer))
        times["raw"].append(raw_epoch(images, labels, raw_net, raw_optimizer))
        times["project"].append(project.epoch())
        times["ungrouped"].append(ungrouped.epoch())
        matmul_seconds, gemm_rate = matmul_bound_epoch(steps)
        times["matmul"].append(matmul_seconds)
        print(f"repeat {repeat + 1}: " + ", ".join(f"{name} {values[-1]:.2f} s" for name, values in times.items()))

    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"\n{len(images):,} images, batch {BATCH_SIZE}, {steps} steps/epoch; data: {data_description}")
    print(
        f"machine: {platform.processor() or platform.machine()}, torch threads {torch.get_num_threads()}, "
        f"torch {torch.__version__}, lightning {L.__version__}; last GEMM rate {gemm_rate / 1e9:.1f} GFLOP/s\n"
    )
    labels_by_name = {
        "tutorial": "(1) tutorial loop (ToTensor + DataLoader)",
        "raw": "(2) raw PyTorch in-memory loop",
        "project": "(3) project: Trainer + in-memory datamodule",
        "ungrouped": "(3b) the same, data.batches_per_group=1",
        "matmul": "(4) matmul bound (FLOPs / GEMM rate)",
    }
    print(f"| {'path':<44} | median epoch s | samples/s |")
    print(f"|{'-' * 46}|---------------:|----------:|")
    for name, label in labels_by_name.items():
        print(f"| {label:<44} | {median[name]:>14.2f} | {len(images) / median[name]:>9,.0f} |")
    print()
    for top, bottom, note in (
        ("tutorial", "project", "target >= 4.0"),
        ("project", "raw", "target <= 1.10"),
        ("project", "matmul", "target <= 1.5"),
        ("ungrouped", "raw", "without batch groups, for comparison"),
    ):
        number = labels_by_name[top].split()[0] + "/" + labels_by_name[bottom].split()[0]
        print(f"{number}: {median[top] / median[bottom]:.2f}   ({note})")


if __name__ == "__main__":
    main()
