"""Bad values, data files, checkpoints and a full disk end in one line naming the key or file, the value and
what to do, found before training where they can be."""

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
import torch

from torch_lessons.checkpoints.atomic_io import AtomicCheckpointIO
from torch_lessons.errors import ConfigError, TrainingFault
from torch_lessons.evaluation import evaluate
from torch_lessons.runs.job_record import write_result
from torch_lessons.training import train


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["optimizer.lr=1e308"], r"optimizer.lr=1e\+308: must be a number ≤ 3.403e\+38 \(the largest float32\)"),
        (["seed=-1"], r"seed=-1: must be an integer from 0 to 4294967295 \(null: unseeded\)"),
        (["seed=abc"], r"seed=abc: must be an integer from 0 to 4294967295 \(null: unseeded\)"),
        (["optimizer.momentum=-1"], r"optimizer.momentum=-1: must be a number ≥ 0"),
        (["optimizer=adam", "optimizer.betas=[2,2]"], r"optimizer.betas=\[2, 2\]: must be two numbers in \[0, 1\)"),
        (["optimizer=adam", "optimizer.betas=[0.9]"], r"optimizer.betas=\[0.9\]: must be two numbers in \[0, 1\)"),
        (["optimizer.weight_decay=-1"], r"optimizer.weight_decay=-1: must be a number ≥ 0"),
        (
            ["+optimizer.nesterov=true"],  # no rule of ours: torch's own refusal, still one line naming the choice
            r"optimizer=sgd: SGD refuses its arguments \(Nesterov momentum requires a momentum and zero dampening\)",
        ),
        (["trainer.max_steps=0"], r"trainer.max_steps=0: must be an integer ≥ 1 \(-1: no limit\)"),
        (
            ["trainer.max_epochs=2", "trainer.check_val_every_n_epoch=5"],
            r"trainer.check_val_every_n_epoch=5 is more than trainer.max_epochs=2: validation would never run, so "
            r"nothing logs val metrics or picks the best checkpoint; choose at most 2",
        ),
        (
            ["optimized_metric=val/acc"],
            r"optimized_metric=val/acc is not logged by this run; logged: epochs, test/loss, test/mae, test/mse, "
            r"train/loss, train/mae, train/mse, val/loss, val/mae, val/mse",
        ),
        (
            ["model.freeze=[net.*]"],
            r"model.freeze=\['net.\*'\] freezes every parameter, so nothing would train; leave at least one of these "
            r"out: net.a",
        ),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else "",
)
def test_bad_value_is_one_line_before_training(compose_config, overrides: list[str], message: str) -> None:
    cfg = compose_config("train", ["task=least_squares", "logger=none", *overrides])
    with pytest.raises(ConfigError, match=f"^{message}$"):
        train(cfg)
    assert not (Path(cfg.paths.output_dir) / "checkpoints").exists(), "refused before anything was trained"


def sample_raw_dir(data_dir: Path) -> Path:
    return data_dir / "fashion-mnist-sample" / "FashionMNIST" / "raw"


@pytest.fixture
def own_data_dir(tmp_path: Path, data_dir: Path) -> Path:
    """A copy of the session's unpacked sample, free to break."""
    compose_data = tmp_path / "data"
    if not sample_raw_dir(data_dir).is_dir():
        from torch_lessons.datamodules.fashion_mnist_source import extract_sample

        extract_sample(data_dir)
    shutil.copytree(data_dir / "fashion-mnist-sample", compose_data / "fashion-mnist-sample")
    return compose_data


def break_labels(raw_dir: Path) -> str:
    labels = raw_dir / "train-labels-idx1-ubyte"
    content = bytearray(labels.read_bytes())
    content[8 + 3] = 12
    labels.write_bytes(bytes(content))
    return rf"data file {labels}: label 12 at row 3; labels must be 0–9 \(one per class\): replace it with the .*"


def directory_in_place_of_file(raw_dir: Path) -> str:
    images = raw_dir / "t10k-images-idx3-ubyte"
    images.unlink()
    images.mkdir()
    return rf"data file {images}: cannot be read \(Is a directory\); replace it with the original IDX file"


@pytest.mark.parametrize("damage", [break_labels, directory_in_place_of_file])
def test_broken_data_file_is_named_at_load(compose_config, own_data_dir: Path, damage) -> None:
    message = damage(sample_raw_dir(own_data_dir))
    cfg = compose_config("train", ["debug=fast_dev_run", "logger=none", f"paths.data_dir={own_data_dir}"])
    with pytest.raises(ConfigError, match=f"^{message}$"):
        train(cfg)


def test_directory_in_place_of_a_full_set_file_is_not_called_missing(compose_config, tmp_path: Path) -> None:
    images = tmp_path / "data" / "fashion-mnist" / "FashionMNIST" / "raw" / "train-images-idx3-ubyte"
    images.mkdir(parents=True)
    overrides = ["debug=fast_dev_run", "data.source=full", f"paths.data_dir={tmp_path / 'data'}"]
    with pytest.raises(ConfigError, match=rf"^data file {images} is a directory, not an IDX file; remove it or put"):
        train(compose_config("train", overrides))


@contextmanager
def mounted_tmpfs(mount_point: Path, options: str) -> Iterator[Path]:
    """A real small or read-only filesystem (needs root; skipped where it cannot be mounted)."""
    mount_point.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(mount_point)]).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=True)


@pytest.mark.parametrize("kind", ["a file", "read-only"])
def test_data_dir_that_cannot_be_written(compose_config, tmp_path: Path, kind: str) -> None:
    with ExitStack() as stack:
        if kind == "a file":
            data_dir = tmp_path / "data.txt"
            data_dir.write_text("a file")
            reason = "Not a directory"
        else:
            data_dir = stack.enter_context(mounted_tmpfs(tmp_path / "read-only", "ro,size=64k"))
            reason = "Read-only file system"
        cfg = compose_config("train", ["debug=fast_dev_run", f"paths.data_dir={data_dir}"])
        with pytest.raises(
            ConfigError, match=rf"^paths.data_dir={data_dir}: cannot create .* \({reason}\); choose a directory"
        ):
            train(cfg)


def test_val_fraction_that_leaves_no_validation_image(compose_config) -> None:
    cfg = compose_config("train", ["debug=fast_dev_run", "data.val_fraction=1e-9"])
    with pytest.raises(ConfigError, match=r"^data.val_fraction=1e-09 leaves 0 of the \d+ training images for "):
        train(cfg)
    with pytest.raises(ConfigError, match=r"validation; use at least [\d.e-]+ \(one image\)$"):
        train(compose_config("train", ["debug=fast_dev_run", "data.val_fraction=1e-9"]))


@pytest.mark.parametrize("content", ["just some text\n", "a: 1\nb: [1, 2]\n"], ids=["text", "yaml"])
@pytest.mark.parametrize("key", ["ckpt_path", "model.init_from"])
def test_text_file_as_checkpoint(compose_config, tmp_path: Path, content: str, key: str) -> None:
    garbage = tmp_path / "notes.ckpt"
    garbage.write_text(content)
    cfg = compose_config("train", ["task=least_squares", f"{key}={garbage}"])
    with pytest.raises(ConfigError, match=rf"^{key}={garbage}: not a checkpoint torch can load safely \(") as error:
        train(cfg)
    assert str(error.value).endswith("pass a .ckpt file written by train.py, e.g. <run dir>/checkpoints/last.ckpt")
    assert "weights_only" not in str(error.value), "never pass on torch's advice to load it unsafely"


def test_eval_takes_a_run_dir_and_needs_a_checkpoint(compose_config, tmp_path: Path) -> None:
    cfg = compose_config("train", ["task=least_squares", "logger=none", "trainer.max_epochs=2"])
    trained = train(cfg)
    metrics = evaluate(compose_config("eval", ["task=least_squares", f"ckpt_path={cfg.paths.output_dir}"]))
    assert set(metrics) >= {"test/loss", "test/mse"} and trained["test/mse"] > 0
    with pytest.raises(ConfigError, match=r"^ckpt_path is required: python eval.py ckpt_path=<run dir \| "):
        evaluate(compose_config("eval", ["task=least_squares"]))


def test_full_disk_names_the_file_and_keeps_the_record(compose_config, tmp_path: Path) -> None:
    """/dev/full answers every write with ENOSPC, as a full disk does."""
    cfg = compose_config("train", ["task=least_squares"])
    output_dir = Path(cfg.paths.output_dir)
    output_dir.mkdir(parents=True)
    (output_dir / ".result.json.partial").symlink_to("/dev/full")
    with pytest.raises(TrainingFault) as error:
        write_result(output_dir, {"status": "ok", "metrics": {}})
    assert str(error.value) == (
        f"no space left on device writing {output_dir / 'result.json'}: free some space or set paths.log_dir to a "
        "disk with room; it should have held: status ok"
    )
    assert not (output_dir / ".result.json.partial").exists() and not (output_dir / "result.json").exists()


def test_full_disk_while_saving_a_checkpoint(tmp_path: Path) -> None:
    """A real small filesystem; torch reports it as `unexpected pos` first, ENOSPC only in its context."""
    with mounted_tmpfs(tmp_path / "small", "size=64k") as mount_point:
        target = mount_point / "checkpoints" / "last.ckpt"
        with pytest.raises(TrainingFault, match=rf"^no space left on device writing {target}: free some space"):
            AtomicCheckpointIO().save_checkpoint({"weights": torch.zeros(100_000)}, target)
        assert list(target.parent.iterdir()) == [], "no partial file is left behind"
