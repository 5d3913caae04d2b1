"""predict.py on a user's own images and table rows, through trainer.predict, with known checkpoints."""

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import SMALL_CNN, run_script
from torch_lessons.assembly import build_datamodule
from torch_lessons.checkpoints.trained_module import load_trained_module
from torch_lessons.datamodules.fashion_mnist import images_to_float
from torch_lessons.errors import ConfigError
from torch_lessons.prediction import predict
from torch_lessons.training import train


@pytest.fixture(scope="module")
def fruit_checkpoint(session_compose) -> Path:
    cfg = session_compose("train", ["task=fruit_yield", "trainer.max_epochs=3", "logger=none", "test=false"])
    train(cfg)
    return Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt"


@pytest.fixture(scope="module")
def test_images(session_compose) -> torch.Tensor:
    """The sample's test split as uint8 N×28×28 images."""
    datamodule = build_datamodule(session_compose("train", []))
    datamodule.prepare_data()
    datamodule.setup("test")
    split_file, rows = datamodule.splits["test"]
    return split_file.data[torch.tensor(rows)]


def with_blank_edges(images: torch.Tensor, dimension: int) -> torch.Tensor:
    """The indices of the images whose outer 5 rows (dimension 1) or columns (dimension 2) are black: such
    an image survives being cropped to 3:2 and padded back to a square."""
    edges = torch.cat([images.narrow(dimension, 0, 5), images.narrow(dimension, 23, 5)], dim=dimension)
    return torch.nonzero(edges.flatten(1).amax(dim=1) <= 8).flatten()


def cropped_large(image: np.ndarray, size: tuple[int, int]) -> Image.Image:
    """The image scaled to a square of the larger side, then cropped to ``size`` (width, height), centred."""
    side = max(size)
    large = Image.fromarray(image).resize((side, side), Image.Resampling.BICUBIC)
    left, top = (side - size[0]) // 2, (side - size[1]) // 2
    return large.crop((left, top, left + size[0], top + size[1]))


def test_images_of_any_size_and_background_predict_as_the_originals(
    session_compose, small_cnn_checkpoint: Path, test_images: torch.Tensor, tmp_path: Path, capsys
) -> None:
    """Real test images written as PNG/BMP files: 28×28 on black, inverted (light background, RGB), and
    scaled up to 300×200 (light, RGB) and 200×300 (dark, grey). The 28×28 ones must give the very same
    probabilities as the original tensors; the large ones (the model's most confident images among
    those that survive the crop) the same class."""
    module = load_trained_module(
        session_compose("predict", [*SMALL_CNN, f"ckpt_path={small_cnn_checkpoint}", "inputs=unused"])
    )
    with torch.no_grad():
        all_logits = module(images_to_float(test_images))
    confidence = all_logits.softmax(-1).amax(-1)

    def most_confident(candidates: torch.Tensor) -> int:
        return int(candidates[confidence[candidates].argmax()])

    wide, tall = most_confident(with_blank_edges(test_images, 1)), most_confident(with_blank_edges(test_images, 2))
    originals = {"dark_28.png": 0, "light_28_rgb.png": 1, "light_300x200_rgb.png": wide, "dark_200x300.bmp": tall}
    images = {name: test_images[index].numpy() for name, index in originals.items()}
    Image.fromarray(images["dark_28.png"]).save(tmp_path / "dark_28.png")
    Image.fromarray(255 - images["light_28_rgb.png"]).convert("RGB").save(tmp_path / "light_28_rgb.png")
    light_wide = Image.fromarray(255 - np.asarray(cropped_large(images["light_300x200_rgb.png"], (300, 200))))
    light_wide.convert("RGB").save(tmp_path / "light_300x200_rgb.png")
    cropped_large(images["dark_200x300.bmp"], (200, 300)).save(tmp_path / "dark_200x300.bmp")
    logits = all_logits[list(originals.values())]
    expected = dict(zip(originals, logits.argmax(-1).tolist(), strict=True))
    probabilities = dict(zip(originals, logits.softmax(-1).amax(-1).tolist(), strict=True))

    capsys.readouterr()
    cfg = session_compose("predict", [*SMALL_CNN, f"ckpt_path={small_cnn_checkpoint}", f"inputs={tmp_path}"])
    rows = predict(cfg)
    lines = capsys.readouterr().out.splitlines()
    class_names = build_datamodule(cfg).class_names
    assert [Path(row["input"]).name for row in rows] == sorted(originals)
    for row in rows:
        name = Path(row["input"]).name
        assert row["predicted"] == class_names[expected[name]], name
        line = f'{row["input"]}: Predicted: "{row["predicted"]}" (p={row["probability"]:.2f})'
        assert line in lines
        if "_28" in name:  # 28×28 on black, or inverted: the very same pixels
            assert row["probability"] == pytest.approx(probabilities[name], abs=1e-6), name
    with (Path(cfg.paths.output_dir) / "predictions.csv").open() as file:
        written = list(csv.DictReader(file))
    assert [entry["predicted"] for entry in written] == [row["predicted"] for row in rows]


def test_large_light_image_is_converted_back_to_the_original(test_images: torch.Tensor, tmp_path: Path) -> None:
    """Inverted, padded to a square and resized: the 300×200 copy comes back close to its 28×28 original."""
    from torch_lessons.datamodules.image_files import read_images

    index = int(with_blank_edges(test_images, 1)[0])
    light = Image.fromarray(255 - np.asarray(cropped_large(test_images[index].numpy(), (300, 200))))
    light.convert("RGB").save(tmp_path / "wide.jpg", quality=95)
    _, (converted,) = read_images(str(tmp_path / "wide.jpg"))
    difference = (converted.float() - test_images[index].float()).abs()
    assert converted.shape == (28, 28) and difference.mean() < 8, float(difference.mean())


def test_predict_script_prints_one_line_per_image_and_writes_csv(small_cnn_checkpoint: Path, tmp_path: Path) -> None:
    images = tmp_path / "images"
    images.mkdir()
    Image.new("L", (40, 60), color=255).save(images / "blank.png")
    Image.new("RGB", (28, 28), color=(0, 0, 0)).save(images / "black.jpg")
    result = run_script(
        "predict.py",
        *SMALL_CNN,
        f"ckpt_path={small_cnn_checkpoint}",
        f"inputs={images}/*",
        f"paths.log_dir={tmp_path / 'outputs'}",
    )
    lines = [line for line in result.stdout.splitlines() if ": Predicted: " in line]
    assert [line.split(": Predicted: ")[0] for line in lines] == [str(images / "black.jpg"), str(images / "blank.png")]
    (run_dir,) = (tmp_path / "outputs" / "predict").glob("*/*")
    assert f"Wrote 2 predictions to {run_dir / 'predictions.csv'}" in result.stdout


@pytest.mark.parametrize(
    ("make_input", "message"),
    [
        (
            lambda folder: folder / "missing.png",
            r"^inputs=.*missing.png: no such file or directory, and no file matches",
        ),
        (
            lambda folder: write(folder / "broken.png", b"not an image"),
            r"^inputs: .*broken.png is not a readable image",
        ),
        (lambda folder: folder, r"^inputs=.*: the directory holds no .png/.jpg/.jpeg/.bmp files$"),
    ],
    ids=["missing file", "corrupt image", "empty directory"],
)
def test_bad_image_inputs_are_one_line(
    session_compose, small_cnn_checkpoint: Path, tmp_path: Path, make_input, message
) -> None:
    with pytest.raises(ConfigError, match=message):
        predict(
            session_compose(
                "predict", [*SMALL_CNN, f"ckpt_path={small_cnn_checkpoint}", f"inputs={make_input(tmp_path)}"]
            )
        )


def write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


def fruit_predictions(session_compose, checkpoint: Path, inputs: str) -> list[dict[str, object]]:
    return predict(session_compose("predict", ["task=fruit_yield", f"ckpt_path={checkpoint}", f"inputs={inputs}"]))


def test_table_rows_from_csv_and_inline_list(session_compose, fruit_checkpoint: Path, tmp_path: Path, capsys) -> None:
    """Columns by name in any order (others ignored), or a list of rows: the net's outputs for those rows."""
    rows_file = tmp_path / "rows.csv"
    rows_file.write_text("humidity,apples,temperature,rainfall\n43,56,73,67\n64,81,91,88\n")
    module = load_trained_module(
        session_compose("predict", ["task=fruit_yield", f"ckpt_path={fruit_checkpoint}", "inputs=x"])
    )
    with torch.no_grad():
        expected = module(torch.tensor([[73.0, 67.0, 43.0], [91.0, 88.0, 64.0]])).tolist()
    capsys.readouterr()
    from_csv = fruit_predictions(session_compose, fruit_checkpoint, str(rows_file))
    from_list = fruit_predictions(session_compose, fruit_checkpoint, "[[73,67,43],[91,88,64]]")
    lines = capsys.readouterr().out.splitlines()
    for rows in (from_csv, from_list):
        predicted = [[row["apples"], row["oranges"]] for row in rows]
        assert torch.allclose(torch.tensor(predicted), torch.tensor(expected), atol=1e-4), (predicted, expected)
    apples, oranges = expected[0]
    assert (
        f"row 1 (temperature=73, rainfall=67, humidity=43): Predicted: apples={apples:.2f}, oranges={oranges:.2f}"
        in lines
    )


@pytest.mark.parametrize(
    ("content", "inputs", "message"),
    [
        (
            "temperature,rainfall,humidity\n73,67,43\n91,88\n",
            "rows.csv",
            r"^inputs=rows.csv line 3 has 2 values, expected 3 \(temperature, rainfall, humidity\)$",
        ),
        ("73,67\n", "rows.csv", r"rows.csv line 1 has 2 values, expected 3 \(temperature, rainfall, humidity\)$"),
        ("temperature,rain,humidity\n73,67,43\n", "rows.csv", r"no column named rainfall in its header"),
        (None, "[[73,67,43],[91,88]]", r"^inputs row 2 has 2 values, expected 3 \(temperature, rainfall, humidity\)$"),
        (None, "nothing.csv", r"^inputs=nothing.csv: no such file$"),
    ],
    ids=["short row", "headerless wrong width", "missing column", "inline short row", "missing file"],
)
def test_bad_table_inputs_are_one_line(
    session_compose, fruit_checkpoint, tmp_path, monkeypatch, content, inputs, message
):
    monkeypatch.chdir(tmp_path)
    if content is not None:
        (tmp_path / inputs).write_text(content)
    with pytest.raises(ConfigError, match=message):
        fruit_predictions(session_compose, fruit_checkpoint, inputs)


def test_checkpoint_of_another_task_is_refused(session_compose, fruit_checkpoint: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="was trained with task=fruit_yield, not task=fashion_mnist"):
        predict(session_compose("predict", [f"ckpt_path={fruit_checkpoint}", f"inputs={tmp_path}"]))
