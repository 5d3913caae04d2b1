"""The nets and the one loss adapter match the lessons they come from."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from torch_lessons.losses import KLDivOneHotLoss
from torch_lessons.nets.mlp import MLP
from torch_lessons.nets.scalar import Scalar


def test_quickstart_mlp_has_the_tutorials_layers() -> None:
    net = MLP([784, 512, 512, 10])
    layers = list(net.layers)
    assert [type(layer) for layer in layers] == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU, nn.Linear]
    assert [(layer.in_features, layer.out_features) for layer in layers[::2]] == [(784, 512), (512, 512), (512, 10)]
    assert sum(parameter.numel() for parameter in net.parameters()) == 669_706
    assert net(torch.zeros(3, 1, 28, 28)).shape == (3, 10)


def test_mlp_1_2_1() -> None:
    net = MLP([1, 2, 1])
    assert [type(layer) for layer in net.layers] == [nn.Linear, nn.ReLU, nn.Linear]
    assert net(torch.ones(4, 1)).shape == (4, 1)


def test_mlp_rejects_bad_sizes() -> None:
    with pytest.raises(ValueError, match="model.layer_sizes must list at least two positive sizes"):
        MLP([784])


def test_scalar_is_one_parameter_without_bias() -> None:
    net = Scalar(initial_a=3.0)
    assert [name for name, _ in net.named_parameters()] == ["a"]
    assert net(torch.tensor([[1.0], [2.0]])).flatten().tolist() == [3.0, 6.0]


def test_kl_div_against_one_hot_equals_torchs_kldiv_and_cross_entropy() -> None:
    torch.manual_seed(0)
    logits, target = torch.randn(8, 10), torch.randint(0, 10, (8,))
    ours = KLDivOneHotLoss()(logits, target)
    reference = nn.KLDivLoss(reduction="batchmean")(F.log_softmax(logits, dim=1), F.one_hot(target, 10).float())
    assert ours.item() == pytest.approx(reference.item(), rel=1e-6)
    assert ours.item() == pytest.approx(F.cross_entropy(logits, target).item(), rel=1e-5)
