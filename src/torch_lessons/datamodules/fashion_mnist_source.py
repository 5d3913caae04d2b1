"""Where the Fashion-MNIST files come from: the official set (found or downloaded) or the bundled sample.

Both are torchvision's raw IDX layout, ``<root>/FashionMNIST/raw/*-ubyte``, so the same
``torchvision.datasets.FashionMNIST`` class reads either one.
"""

import gzip
import logging
import os
import shutil
import socket
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from torchvision.datasets import FashionMNIST

from torch_lessons.errors import ConfigError

log = logging.getLogger(__name__)

SOURCES = ("auto", "full", "sample")
SAMPLE_ARCHIVE_DIR = Path(__file__).with_name("fashion_mnist_sample")
FULL_DIR_NAME = "fashion-mnist"
SAMPLE_DIR_NAME = "fashion-mnist-sample"


@dataclass(frozen=True)
class ResolvedSource:
    """The torchvision root to read, which source it is, and why it was chosen."""

    root: Path
    source: str
    reason: str


def full_set_present(root: Path) -> bool:
    """True when all four official files are unpacked where torchvision looks for them; something
    other than a file in the place of one is refused rather than taken for a missing download."""
    raw_files = [root / "FashionMNIST" / "raw" / Path(name).stem for name, _ in FashionMNIST.resources]
    for path in raw_files:
        if path.exists() and not path.is_file():
            raise ConfigError(f"data file {path} is a directory, not an IDX file; remove it or put the original there")
    return all(path.is_file() for path in raw_files)


@contextmanager
def _socket_timeout(seconds: float):
    """torchvision's download has no timeout of its own; without one an unreachable mirror hangs."""
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def download_full_set(root: Path, timeout_seconds: float) -> str | None:
    """Downloads the official set into ``root``; returns None on success, else why it failed."""
    try:
        with _socket_timeout(timeout_seconds):
            FashionMNIST(root=str(root), train=True, download=True)
    except (OSError, RuntimeError) as error:
        first_line = str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
        return first_line
    return None


def extract_sample(data_dir: Path) -> Path:
    """Un-gzips the sample shipped in the package into ``data_dir`` once; returns its torchvision root.

    Files are written to a temporary name and renamed, so an interrupted extraction never leaves a
    truncated file that a later run would trust; files already there are left as they are.
    """
    root = data_dir / SAMPLE_DIR_NAME
    raw_dir = root / "FashionMNIST" / "raw"
    try:
        raw_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:  # data_dir is a file, read-only, or on a full disk
        raise ConfigError(
            f"paths.data_dir={data_dir}: cannot create {raw_dir} ({error.strerror or error}); "
            "choose a directory this user can write"
        ) from None
    for archive in sorted(SAMPLE_ARCHIVE_DIR.glob("*.gz")):
        target = raw_dir / archive.stem
        if target.exists():
            continue
        with tempfile.NamedTemporaryFile(dir=raw_dir, prefix=f".{archive.stem}.", delete=False) as temporary:
            with gzip.open(archive, "rb") as compressed:
                shutil.copyfileobj(compressed, temporary)
        os.replace(temporary.name, target)
    return root


def resolve_source(source: str, data_dir: Path, allow_download: bool, timeout_seconds: float) -> ResolvedSource:
    """Picks the data for ``data.source`` (auto | full | sample); never swaps silently: ``reason`` says why."""
    if source not in SOURCES:
        raise ConfigError(f"data.source={source!r} is not one of {', '.join(SOURCES)}")
    full_root = data_dir / FULL_DIR_NAME
    if source in ("auto", "full"):
        if full_set_present(full_root):
            return ResolvedSource(full_root, "full", f"found in {full_root}")
        failure = "downloads are off on this rank"
        if allow_download:
            log.info("Fashion-MNIST: downloading the full set into %s ...", full_root)
            failure = download_full_set(full_root, timeout_seconds)
            if failure is None:
                return ResolvedSource(full_root, "full", f"downloaded into {full_root}")
        if source == "full":
            raise ConfigError(
                f"data.source=full: the full Fashion-MNIST set is not in {full_root} and could not be "
                f"downloaded ({failure}); connect to the internet, copy the raw IDX files there, "
                f"or use data.source=sample"
            )
        reason = f"the full set is not in {full_root} and could not be downloaded ({failure})"
    else:
        reason = "data.source=sample"
    return ResolvedSource(extract_sample(data_dir), "sample", reason)
