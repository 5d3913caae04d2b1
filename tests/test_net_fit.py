"""The net-fits-data check runs real examples through any architecture and names the model and shapes."""

import pytest

from torch_lessons.assembly import build_datamodule, build_module
from torch_lessons.config_checks import check_net_fits_data
from torch_lessons.errors import ConfigError
from torch_lessons.training import train


@pytest.mark.parametrize("model", ["small_cnn", "quickstart_mlp"])
def test_cnn_and_mlp_fit_fashion_mnist(compose_config, model: str) -> None:
    cfg = compose_config("train", [f"model={model}"])
    module = build_module(cfg)
    check_net_fits_data(cfg, module.net, build_datamodule(cfg))
    assert module.net.training  # the check ran it in eval mode and put it back


def test_cnn_with_the_wrong_output_width_is_refused_before_training(compose_config) -> None:
    cfg = compose_config("train", ["model=small_cnn", "model.num_classes=5"])
    with pytest.raises(
        ConfigError,
        match=r"^model=small_cnn turns inputs of shape \[2, 1, 28, 28\] into outputs of shape \[2, 5\], "
        r"but task=fashion_mnist needs \[2, 10\] \(data.num_classes=10\)$",
    ):
        train(cfg)


def test_cnn_for_other_images_is_refused_naming_the_data_shape(compose_config) -> None:
    cfg = compose_config("train", ["model=small_cnn", "model.in_channels=3"])
    with pytest.raises(
        ConfigError, match=r"^model=small_cnn does not take the data's inputs \(a batch of shape \[2, 1, 28, 28\]\): "
    ):
        train(cfg)
