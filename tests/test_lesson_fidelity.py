"""The project's runs give what the lessons' hand-written loops give, number for number."""

from pathlib import Path

import lightning as L
import torch
import torch.nn.functional as F

from torch_lessons.assembly import build_datamodule, build_module, build_trainer
from torch_lessons.training import train

X = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0])
Y = torch.tensor([15.0, 20.0, 34.0, 42.0, 58.0])
FRUIT_INPUTS = torch.tensor(
    [[73, 67, 43], [91, 88, 64], [87, 134, 58], [102, 43, 37], [69, 96, 70]], dtype=torch.float32
)
FRUIT_TARGETS = torch.tensor([[56, 70], [81, 101], [119, 133], [22, 37], [103, 119]], dtype=torch.float32)
FULL_BATCH_IN_ORDER = ["data.batch_size=5", "data.shuffle=false", "logger=none", "test=false"]


def last_weights(cfg) -> dict[str, torch.Tensor]:
    return torch.load(Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]


def test_least_squares_matches_the_lessons_loop(compose_config) -> None:
    """a ← a − lr·∂loss/∂a over all five points for 10 epochs, by hand and through Lightning."""
    initial_a, learning_rate = 2.0, 0.01
    cfg = compose_config("train", ["task=least_squares", f"model.initial_a={initial_a}", *FULL_BATCH_IN_ORDER])
    train(cfg)

    a = torch.tensor(initial_a, requires_grad=True)
    for _ in range(10):
        loss = ((a * X - Y) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            a -= learning_rate * a.grad
            a.grad.zero_()
    assert abs(last_weights(cfg)["net.a"].item() - a.item()) < 1e-6


def test_fruit_yield_matches_the_lessons_loop(compose_config, tmp_path: Path) -> None:
    """The lesson's ``x @ w.t() + b`` loop, SGD lr 1e-5, 100 epochs, from the same w and b."""
    torch.manual_seed(0)
    initial_w, initial_b = torch.randn(2, 3), torch.randn(2)
    start = tmp_path / "start.ckpt"
    torch.save({"state_dict": {"net.weight": initial_w, "net.bias": initial_b}}, start)
    cfg = compose_config("train", ["task=fruit_yield", f"model.init_from={start}", *FULL_BATCH_IN_ORDER])
    train(cfg)

    w, b = initial_w.clone().requires_grad_(), initial_b.clone().requires_grad_()
    for _ in range(100):
        difference = FRUIT_INPUTS @ w.t() + b - FRUIT_TARGETS
        loss = torch.sum(difference * difference) / difference.numel()
        loss.backward()
        with torch.no_grad():
            w -= w.grad * 1e-5
            b -= b.grad * 1e-5
            w.grad.zero_()
            b.grad.zero_()
    learned = last_weights(cfg)
    torch.testing.assert_close(learned["net.weight"], w.detach(), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(learned["net.bias"], b.detach(), rtol=1e-5, atol=1e-6)


class RecordValidation(L.Callback):
    """Keeps each epoch's weights and the val/loss the module logged for them."""

    def __init__(self) -> None:
        self.records: list[tuple[dict[str, torch.Tensor], float]] = []

    def on_validation_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if not trainer.sanity_checking:
            weights = {name: value.detach().clone() for name, value in module.net.state_dict().items()}
            self.records.append((weights, trainer.callback_metrics["val/loss"].item()))


def test_logged_epoch_mse_equals_plain_pytorch_mse(compose_config) -> None:
    """The regression module's per-epoch val/loss is the plain MSE of that epoch's weights on the table."""
    cfg = compose_config("train", ["task=fruit_yield", "trainer.max_epochs=5", "logger=none"])
    recorder = RecordValidation()
    trainer = build_trainer(cfg, extra_callbacks=[recorder])
    trainer.fit(build_module(cfg), datamodule=build_datamodule(cfg))
    assert len(recorder.records) == 5
    for weights, logged_loss in recorder.records:
        plain = F.mse_loss(FRUIT_INPUTS @ weights["weight"].t() + weights["bias"], FRUIT_TARGETS).item()
        assert abs(logged_loss - plain) <= 1e-5 * plain
