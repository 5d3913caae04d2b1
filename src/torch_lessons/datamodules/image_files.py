"""A user's own image files, made to look like Fashion-MNIST images: light clothing on black, 28×28 grey."""

import glob
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torch import Tensor

from torch_lessons.errors import ConfigError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
IMAGE_SIDE = 28
LIGHT_BACKGROUND = 128  # a border brighter than this on average is a light background (0 black, 255 white)


def find_image_files(spec: str, key: str = "inputs") -> list[Path]:
    """The files ``spec`` names: one file, the image files of a directory (sorted), or a glob's matches."""
    path = Path(spec).expanduser()
    if path.is_file():
        return [path]
    if path.is_dir():
        files = sorted(entry for entry in path.iterdir() if entry.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise ConfigError(f"{key}={spec}: the directory holds no {'/'.join(IMAGE_SUFFIXES)} files")
        return files
    matches = sorted(Path(match) for match in glob.glob(str(path), recursive=True) if Path(match).is_file())
    if not matches:
        raise ConfigError(f"{key}={spec}: no such file or directory, and no file matches it as a glob")
    return matches


def read_grey(path: Path, key: str = "inputs") -> Image.Image:
    """The image as 8-bit grey; transparent parts become white (then count as a light background)."""
    try:
        with Image.open(path) as opened:
            image = ImageOps.exif_transpose(opened)
            image.load()
    except UnidentifiedImageError:
        raise ConfigError(f"{key}: {path} is not a readable image (Pillow does not recognise its format)") from None
    except (OSError, ValueError) as error:
        raise ConfigError(
            f"{key}: {path} is not a readable image ({str(error).strip() or type(error).__name__})"
        ) from None
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
    return image.convert("L")


def border_pixels(pixels: np.ndarray) -> np.ndarray:
    return np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])


def fashion_mnist_look(image: Image.Image) -> Tensor:
    """A ``28×28`` uint8 tensor of a grey image: inverted when its border is light (Fashion-MNIST is light
    clothing on black), padded to a square with the border's median grey, resized to 28×28."""
    pixels = np.asarray(image)
    if border_pixels(pixels).mean() > LIGHT_BACKGROUND:
        image = ImageOps.invert(image)
        pixels = np.asarray(image)
    background = int(np.median(border_pixels(pixels)))
    square = ImageOps.pad(image, (max(image.size),) * 2, color=background)
    resized = square.resize((IMAGE_SIDE, IMAGE_SIDE), Image.Resampling.LANCZOS, reducing_gap=3.0)
    return torch.from_numpy(np.array(resized, dtype=np.uint8))


def read_images(spec: str, key: str = "inputs") -> tuple[list[str], Tensor]:
    """The names of the files ``spec`` names and their ``N×28×28`` uint8 images, Fashion-MNIST style."""
    files = find_image_files(spec, key)
    return [str(path) for path in files], torch.stack([fashion_mnist_look(read_grey(path, key)) for path in files])
