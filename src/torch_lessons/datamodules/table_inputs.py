"""Rows a user wants predictions for: a CSV file with the task's named input columns, or a list of rows."""

import csv
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor

from torch_lessons.errors import ConfigError


def as_number(text: object, where: str) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: {text!r} is not a number") from None


def expected_columns(input_names: Sequence[str] | None, count: int) -> str:
    return f"{count} ({', '.join(input_names)})" if input_names else str(count)


def rows_from_list(rows: Sequence, input_names: Sequence[str] | None, count: int, key: str) -> list[list[float]]:
    """``[[73, 67, 43], [91, 88, 64]]``: each entry one row of ``count`` numbers (a bare number is a row of one)."""
    table: list[list[float]] = []
    for number, row in enumerate(rows, start=1):
        values = list(row) if isinstance(row, Sequence) and not isinstance(row, str) else [row]
        if len(values) != count:
            raise ConfigError(
                f"{key} row {number} has {len(values)} values, expected {expected_columns(input_names, count)}"
            )
        table.append([as_number(value, f"{key} row {number}") for value in values])
    return table


def rows_from_csv(path: Path, input_names: Sequence[str] | None, count: int, key: str) -> list[list[float]]:
    """A CSV file whose header names the input columns (any order; other columns are ignored), or,
    without a header, ``count`` numbers per line in the task's input order."""
    if not path.is_file():
        raise ConfigError(f"{key}={path}: no such file")
    try:
        with path.open(newline="") as file:
            lines = [(number, row) for number, row in enumerate(csv.reader(file), start=1) if any(row)]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise ConfigError(f"{key}={path}: not a readable CSV file ({error})") from None
    if not lines:
        raise ConfigError(f"{key}={path}: the file holds no rows")
    header_number, header = lines[0]
    columns = list(range(count))
    names = list(input_names) if input_names else [f"column {index + 1}" for index in columns]
    if not all(is_number(field) for field in header):
        present = [field.strip() for field in header]
        missing = [name for name in names if name not in present]
        if missing:
            raise ConfigError(
                f"{key}={path}: no column named {missing[0]} in its header ({', '.join(present)}); "
                f"the task's inputs are {', '.join(names)}"
            )
        columns = [present.index(name) for name in names]
        lines = lines[1:]
        width = len(header)
    else:
        width = count
    table: list[list[float]] = []
    for number, row in lines:
        if len(row) != width:
            raise ConfigError(
                f"{key}={path} line {number} has {len(row)} values, expected "
                f"{width if width != count else expected_columns(input_names, count)}"
            )
        table.append(
            [
                as_number(row[column].strip(), f"{key}={path} line {number}, column {names[index]}")
                for index, column in enumerate(columns)
            ]
        )
    return table


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_table_inputs(
    inputs: str | Sequence, input_names: Sequence[str] | None, count: int, key: str = "inputs"
) -> tuple[list[str], Tensor]:
    """Labels for the printed lines (``row 1 (temperature=73, rainfall=67, humidity=43)``) and the
    ``N×count`` float rows."""
    if isinstance(inputs, str):
        path = Path(inputs).expanduser()
        if path.suffix.lower() != ".csv":
            raise ConfigError(f"{key}={inputs}: give a .csv file or a list of rows such as [[73,67,43]]")
        rows = rows_from_csv(path, input_names, count, key)
    else:
        rows = rows_from_list(inputs, input_names, count, key)
    if not rows:
        raise ConfigError(f"{key}={inputs}: no rows to predict")
    names = list(input_names) if input_names else [f"x{index + 1}" for index in range(count)]
    labels = [
        f"row {number} ({', '.join(f'{name}={value:g}' for name, value in zip(names, row, strict=True))})"
        for number, row in enumerate(rows, start=1)
    ]
    return labels, torch.tensor(rows, dtype=torch.float32)
