"""Schedulers, gradient clipping and accumulation as a plain PyTorch loop takes them, for one batch per
``training_step`` and for groups of batches: the same learning rate at every step, the same weights.

fruit_yield: 5 rows, batch 2 → 3 shuffled batches per epoch (the last one short), Adam; 4 epochs.
The reference loop follows Lightning's documented rules: ``interval: step`` steps the scheduler after
an optimizer step whose batch number in the epoch divides by ``frequency``; ``interval: epoch`` after
the epoch; accumulation divides each loss by the count and steps at every count-th batch and at the
epoch's last batch.
"""

import math

import lightning as L
import pytest
import torch
from torch import nn

from conftest import assert_same_weights
from torch_lessons.assembly import build_datamodule, build_module
from torch_lessons.datamodules.in_memory import EpochPermutation
from torch_lessons.errors import ConfigError
from torch_lessons.modules import lean_steps
from torch_lessons.training import train

EPOCHS = 4
RUN = [
    "task=fruit_yield",
    "optimizer=adam",
    "optimizer.lr=0.5",
    "logger=none",
    "test=false",
    f"trainer.max_epochs={EPOCHS}",
]
# A plateau scheduler that always sees "no improvement" (it needs a 1000% better loss), so it acts every epoch.
PLATEAU = ["scheduler=plateau", "scheduler.scheduler.patience=0", "scheduler.scheduler.threshold=10"]


class RecordRates(L.Callback):
    """The learning rate each optimizer step uses; the weights and global_step at the end of the fit."""

    rates: list[float] = []
    final: dict = {}

    def on_train_start(self, trainer, module) -> None:
        RecordRates.rates = []

    def on_before_optimizer_step(self, trainer, module, optimizer) -> None:
        self.rates.append(optimizer.param_groups[0]["lr"])

    def on_train_end(self, trainer, module) -> None:
        state = {name: value.clone() for name, value in module.state_dict().items()}
        RecordRates.final = {"state_dict": state, "global_step": trainer.global_step}


def torch_scheduler(name: str, optimizer: torch.optim.Optimizer, total_steps: int):
    return {
        "step": lambda: torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5),
        "cosine": lambda: torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps),
        "onecycle": lambda: torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.5, total_steps=total_steps),
        "plateau": lambda: torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.1, patience=0, threshold=10),
        "none": lambda: None,
    }[name]()


def plain_loop(cfg, scheduler: str = "none", interval: str = "epoch", clip=None, accumulate: int = 1):
    """The hand-written loop: same initial weights (seeded as train() seeds), same batch order."""
    L.seed_everything(cfg.seed, workers=True)
    datamodule = build_datamodule(cfg)
    net: nn.Module = build_module(cfg).net
    inputs, targets = datamodule.inputs, datamodule.targets
    optimizer = torch.optim.Adam(net.parameters(), lr=0.5)
    batches_per_epoch = math.ceil(len(inputs) / 2)
    schedule = torch_scheduler(scheduler, optimizer, math.ceil(batches_per_epoch / accumulate) * EPOCHS)
    rates = []
    sampler = EpochPermutation(len(inputs), True, datamodule.shuffle_seed)
    for epoch in range(EPOCHS):
        sampler.set_epoch(epoch)
        order = sampler.indices()
        for index in range(batches_per_epoch):
            rows = order[index * 2 : index * 2 + 2]
            loss = nn.functional.mse_loss(net(inputs[rows]), targets[rows])
            (loss / accumulate).backward()
            if (index + 1) % accumulate and index + 1 != batches_per_epoch:
                continue
            rates.append(optimizer.param_groups[0]["lr"])
            if clip == "norm":
                nn.utils.clip_grad_norm_(net.parameters(), 0.5)
            elif clip == "value":
                nn.utils.clip_grad_value_(net.parameters(), 0.5)
            optimizer.step()
            optimizer.zero_grad()
            if schedule is not None and interval == "step":
                schedule.step()
        if schedule is not None and interval == "epoch":
            if scheduler == "plateau":
                with torch.no_grad():
                    schedule.step(nn.functional.mse_loss(net(inputs), targets))
            else:
                schedule.step()
    return {f"net.{name}": value for name, value in net.state_dict().items()}, rates


def project_run(compose_config, overrides: list[str]):
    cfg = compose_config("train", [*RUN, f"+callbacks.rates._target_={__name__}.RecordRates", *overrides])
    train(cfg)
    return cfg, RecordRates.final, list(RecordRates.rates)


@pytest.mark.parametrize("batches_per_group", [1, 64])
@pytest.mark.parametrize(
    ("scheduler", "overrides", "interval"),
    [
        ("step", ["scheduler=step"], "epoch"),
        ("cosine", ["scheduler=cosine"], "step"),
        ("onecycle", ["scheduler=onecycle"], "step"),
        ("plateau", PLATEAU, "epoch"),
    ],
)
def test_schedulers_follow_a_plain_loop(compose_config, scheduler, overrides, interval, batches_per_group) -> None:
    cfg, checkpoint, rates = project_run(compose_config, [*overrides, f"data.batches_per_group={batches_per_group}"])
    plain_weights, plain_rates = plain_loop(cfg, scheduler, interval)
    assert rates == plain_rates
    assert len(set(rates)) > 1, "the schedule changed the rate"
    assert checkpoint["global_step"] == 3 * EPOCHS
    assert_same_weights(checkpoint["state_dict"], plain_weights)


@pytest.mark.parametrize("batches_per_group", [1, 64])
@pytest.mark.parametrize(
    ("overrides", "loop_settings"),
    [
        (["trainer.gradient_clip_val=0.5"], {"clip": "norm"}),
        (["trainer.gradient_clip_val=0.5", "trainer.gradient_clip_algorithm=value"], {"clip": "value"}),
        (["trainer.accumulate_grad_batches=2"], {"accumulate": 2}),
        (
            ["trainer.accumulate_grad_batches=2", "trainer.gradient_clip_val=0.5", "scheduler=cosine"],
            {"accumulate": 2, "clip": "norm", "scheduler": "cosine", "interval": "step"},
        ),
    ],
)
def test_clipping_and_accumulation_follow_a_plain_loop(
    compose_config, overrides, loop_settings, batches_per_group
) -> None:
    cfg, checkpoint, rates = project_run(compose_config, [*overrides, f"data.batches_per_group={batches_per_group}"])
    plain_weights, plain_rates = plain_loop(cfg, **loop_settings)
    assert rates == plain_rates
    assert checkpoint["global_step"] == len(plain_rates), "global_step counts optimizer steps"
    assert_same_weights(checkpoint["state_dict"], plain_weights)


def test_clipping_changes_the_run(compose_config) -> None:
    """The plain loop's clipping matters here: unclipped weights differ (else the tests above prove nothing)."""
    _, unclipped, _ = project_run(compose_config, [])
    _, clipped, _ = project_run(compose_config, ["trainer.gradient_clip_val=0.5"])
    assert not torch.equal(unclipped["state_dict"]["net.weight"], clipped["state_dict"]["net.weight"])


def test_a_plateau_monitor_that_is_never_logged_is_named(compose_config) -> None:
    cfg = compose_config("train", [*RUN, "scheduler=plateau", "scheduler.monitor=val/oops"])
    with pytest.raises(ConfigError, match=r"^scheduler.monitor=val/oops was not logged before the scheduler stepped"):
        train(cfg)


def test_lightning_dispatch_takes_the_same_steps(compose_config, monkeypatch) -> None:
    """On one device in 32-bit precision the steps call the existing hooks themselves (lean_steps.py);
    elsewhere (DDP, mixed precision) they go through ``manual_backward`` and ``LightningOptimizer.step()``.
    Both take the same steps: same rates, global_step and weights, with clipping, accumulation and a
    per-step schedule inside groups."""
    overrides = [
        "trainer.accumulate_grad_batches=2",
        "trainer.gradient_clip_val=0.5",
        "scheduler=cosine",
        "data.batches_per_group=64",
    ]
    lean_calls = []
    plain_step = lean_steps.OptimizerSteps.plain_optimizer_step
    monkeypatch.setattr(
        lean_steps.OptimizerSteps, "plain_optimizer_step", lambda steps: lean_calls.append(1) or plain_step(steps)
    )
    _, lean, lean_rates = project_run(compose_config, overrides)
    assert len(lean_calls) == lean["global_step"] > 0, "the lean path took the steps"
    monkeypatch.setattr(lean_steps, "on_plain_device", lambda module: False)
    _, dispatched, dispatched_rates = project_run(compose_config, overrides)
    assert len(lean_calls) == lean["global_step"], "Lightning's path took the steps"
    assert dispatched_rates == lean_rates and dispatched["global_step"] == lean["global_step"]
    assert_same_weights(dispatched["state_dict"], lean["state_dict"])
