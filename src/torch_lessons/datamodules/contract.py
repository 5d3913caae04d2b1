"""What a task's LightningDataModule provides to the rest of the project, written as code.

Besides Lightning's own hooks (``prepare_data``, ``setup``, and ``train/val/test_dataloader`` yielding
``(inputs, targets)`` batches, or for training and validation ``BatchGroup``s of them: in_memory.py),
the project reads these members:

- ``example_batch(count)``: the first ``count`` real ``(inputs, targets)`` of the validation split, before any
  Trainer exists; the config checks put them through the net, export.py traces the net with them.
- ``describe_target(target)``: one prediction or target as eval.py and predict.py print it
  (``"Ankle boot"``, ``apples=56.00, oranges=70.00``); ``target_columns(target)``: the same as
  predictions.csv columns.
- For predict.py: the constructor takes ``predict_inputs`` (the user's ``inputs=``); ``setup("predict")``
  reads them, ``predict_dataloader()`` serves them and ``predict_labels`` names each one.

and, by kind of task (what the module's predictions are):

- ``ClassificationData``: ``num_classes`` and ``class_names``; a target is a class index. The test figures
  draw a confusion matrix (and a grid of the test images when inputs are images).
- ``RegressionData``: ``num_outputs`` and ``target_names`` (None: unnamed); a target is a row of
  ``num_outputs`` numbers. The test figures draw predicted vs actual per output.

The Protocols are ``runtime_checkable``: ``isinstance(datamodule, ClassificationData)`` is how the figures
pick their kind, and tests/test_contracts.py checks every task's datamodule against them.
"""

from typing import Protocol, runtime_checkable

from torch import Tensor


@runtime_checkable
class TaskData(Protocol):
    """What every task's datamodule provides (see the module docstring)."""

    predict_labels: list[str]

    def example_batch(self, count: int = 2) -> tuple[Tensor, Tensor]: ...

    def describe_target(self, target: Tensor) -> str: ...

    def target_columns(self, target: Tensor) -> dict[str, object]: ...


@runtime_checkable
class ClassificationData(TaskData, Protocol):
    """Targets are class indices ``0 … num_classes - 1``, named by ``class_names``."""

    num_classes: int
    class_names: list[str]


@runtime_checkable
class RegressionData(TaskData, Protocol):
    """Targets are rows of ``num_outputs`` numbers, named by ``target_names`` when it is not None."""

    num_outputs: int
    target_names: list[str] | None
