"""The autograd lesson's numbers, computed through torch, and one SGD step done by hand."""

import math

import pytest
import torch
from torch import nn


def derivative_at(function, point: float) -> float:
    x = torch.tensor(point, requires_grad=True)
    function(x).backward()
    return x.grad.item()


@pytest.mark.parametrize(
    ("function", "point", "expected"),
    [
        (lambda x: x**2, 2.0, 4.0),
        (torch.exp, 2.0, 7.3891),
        (torch.sin, math.pi, -1.0),
        (lambda x: (x - 4) * (x**2 + 6), 0.0, 6.0),
        (lambda x: (torch.sqrt(x) + 1) ** 3, 2.0, 6.1820),
    ],
    ids=["x^2 at 2", "e^x at 2", "sin x at pi", "(x-4)(x^2+6) at 0", "(sqrt x + 1)^3 at 2"],
)
def test_derivatives_from_the_lesson(function, point: float, expected: float) -> None:
    assert derivative_at(function, point) == pytest.approx(expected, abs=5e-5)


def test_partial_derivatives_of_x_plus_2y_squared() -> None:
    x = torch.tensor(1.0, requires_grad=True)
    y = torch.tensor(2.0, requires_grad=True)
    ((x + 2 * y) ** 2).backward()
    assert (x.grad.item(), y.grad.item()) == (10.0, 20.0)


def test_gradients_of_a_sum_of_products() -> None:
    """For c = Σ(x·y + z): ∂c/∂x = y, ∂c/∂y = x, ∂c/∂z = 1."""
    torch.manual_seed(0)
    x, y, z = (torch.randn(4, requires_grad=True) for _ in range(3))
    (x * y + z).sum().backward()
    assert torch.equal(x.grad, y.detach())
    assert torch.equal(y.grad, x.detach())
    assert torch.equal(z.grad, torch.ones(4))


def test_inputs_without_requires_grad_get_no_gradient() -> None:
    x = torch.tensor(3.0)
    w = torch.tensor(4.0, requires_grad=True)
    b = torch.tensor(5.0, requires_grad=True)
    (w * x + b).backward()
    assert x.grad is None
    assert (w.grad.item(), b.grad.item()) == (3.0, 1.0)


def test_manual_update_equals_sgd_step() -> None:
    """``p -= lr * p.grad`` on nn.Linear(3, 2) gives what ``torch.optim.SGD(...).step()`` gives."""
    torch.manual_seed(0)
    inputs, targets = torch.randn(5, 3), torch.randn(5, 2)
    by_hand = nn.Linear(3, 2)
    by_optimizer = nn.Linear(3, 2)
    by_optimizer.load_state_dict(by_hand.state_dict())
    learning_rate = 1e-2

    nn.functional.mse_loss(by_hand(inputs), targets).backward()
    with torch.no_grad():
        for parameter in by_hand.parameters():
            parameter -= learning_rate * parameter.grad

    optimizer = torch.optim.SGD(by_optimizer.parameters(), lr=learning_rate)
    nn.functional.mse_loss(by_optimizer(inputs), targets).backward()
    optimizer.step()

    for manual, stepped in zip(by_hand.parameters(), by_optimizer.parameters(), strict=True):
        assert torch.equal(manual, stepped)
