"""A few rows of numbers written in the config, such as the least-squares and fruit-yield lessons."""

from collections.abc import Sequence

import torch
from torch import Tensor
from torch.utils.data import DataLoader, TensorDataset

from torch_lessons.datamodules.in_memory import InMemoryBatches, InMemoryDataModule, resolve_shuffle_seed
from torch_lessons.datamodules.table_inputs import read_table_inputs
from torch_lessons.errors import ConfigError


def _as_table(rows: Sequence[Sequence[float]], key: str, expected_columns: int) -> Tensor:
    if len(rows) == 0:
        raise ConfigError(f"{key} is empty: give at least one row")
    widths = sorted({len(row) for row in rows})
    if widths != [expected_columns]:
        raise ConfigError(f"{key} rows must each have {expected_columns} values, got rows of width {widths}")
    return torch.tensor([[float(value) for value in row] for row in rows], dtype=torch.float32)


class TableDataModule(InMemoryDataModule):
    """Serves an in-memory table (``RegressionData``): shuffled mini-batches to train (handed to Lightning in groups of
    ``batches_per_group``), the whole table to validate and test.

    The lessons fit a handful of points and judge the fit on those same points, so validation and
    test read the full table in its written order; the number to watch is how far the loss falls.

    ``predict_inputs`` (predict.py's ``inputs=``) are the rows to predict: a CSV file with the
    ``input_names`` columns, or a list of rows; without them predicting reads the table itself.
    """

    def __init__(
        self,
        inputs: Sequence[Sequence[float]],
        targets: Sequence[Sequence[float]],
        num_inputs: int,
        num_outputs: int,
        batch_size: int,
        shuffle: bool = True,
        shuffle_seed: int | None = None,
        target_names: Sequence[str] | None = None,
        batches_per_group: int = 64,
        input_names: Sequence[str] | None = None,
        predict_inputs: str | Sequence[Sequence[float]] | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(logger=False)
        self.inputs = _as_table(inputs, "data.inputs", num_inputs)
        self.targets = _as_table(targets, "data.targets", num_outputs)
        if len(self.inputs) != len(self.targets):
            raise ConfigError(f"data.inputs has {len(self.inputs)} rows but data.targets has {len(self.targets)}")
        if target_names is not None and len(target_names) != num_outputs:
            raise ConfigError(f"data.target_names has {len(target_names)} names for {num_outputs} outputs")
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.shuffle_seed = resolve_shuffle_seed(shuffle_seed)
        self.target_names = list(target_names) if target_names is not None else None
        if input_names is not None and len(input_names) != num_inputs:
            raise ConfigError(f"data.input_names has {len(input_names)} names for {num_inputs} inputs")
        self.input_names = list(input_names) if input_names is not None else None
        self.num_inputs = num_inputs
        self.num_outputs = num_outputs
        self.batches_per_group = batches_per_group
        self.predict_inputs = predict_inputs
        self.predict_labels: list[str] = []
        self.predict_rows: Tensor | None = None

    def setup(self, stage: str | None = None) -> None:
        """Checks that every process gets a row to validate and test; for ``predict`` with
        ``predict_inputs``: reads and checks them (once)."""
        if stage != "predict":
            self.check_unpadded_shards("val", len(self.inputs))
        if stage == "predict" and self.predict_inputs is not None and self.predict_rows is None:
            self.predict_labels, self.predict_rows = read_table_inputs(
                self.predict_inputs, self.input_names, self.num_inputs
            )

    def train_dataloader(self) -> InMemoryBatches:
        return self.in_memory_batches(
            self.inputs, self.targets, self.batch_size, self.shuffle, batches_per_group=self.batches_per_group
        )

    def val_dataloader(self) -> InMemoryBatches:
        return self.in_memory_batches(self.inputs, self.targets, len(self.inputs), shuffle=False, split="val")

    def test_dataloader(self) -> InMemoryBatches:
        return self.val_dataloader()

    def predict_dataloader(self) -> InMemoryBatches | DataLoader:
        if self.predict_rows is None:
            return self.val_dataloader()
        return DataLoader(TensorDataset(self.predict_rows), batch_size=len(self.predict_rows))

    def target_columns(self, target: Tensor) -> dict[str, float]:
        """One row's values by output name (``y1``, ``y2``, ... without ``target_names``), for predictions.csv."""
        values = target.reshape(-1).tolist()
        names = self.target_names or [f"y{index + 1}" for index in range(len(values))]
        return dict(zip(names, values, strict=True))

    def describe_target(self, target: Tensor) -> str:
        """One row's values as the lesson prints them, named when ``target_names`` is set."""
        values = [f"{value:.2f}" for value in target.reshape(-1).tolist()]
        if self.target_names is None:
            return "[" + ", ".join(values) + "]"
        return ", ".join(f"{name}={value}" for name, value in zip(self.target_names, values, strict=True))
