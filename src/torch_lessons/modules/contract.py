"""What a task's LightningModule provides to the rest of the project, written as code.

``LessonModule`` (lesson.py) fulfils it for every task kind; a new kind subclasses it and writes
``model_step`` (and ``make_metrics``, ``predict``), so it keeps the contract. What is read:

- ``net``: the plain ``nn.Module`` (the config checks run an example batch through it; export.py writes it;
  ``model.freeze`` and ``model.init_from`` name its parameters).
- ``make_metrics()``: the task's metrics; each one is logged as ``<stage>/<name>``, so their names are what
  ``optimized_metric`` and ``task.monitor`` may pick (checked before training).
- ``predict(outputs)``: the net's outputs as predictions, shaped like the data's targets (class indices for
  ``ClassificationData``, rows of ``num_outputs`` numbers for ``RegressionData``, datamodules/contract.py).
- ``test_step`` returns a ``TestStepOutput``: the test figures (callbacks/figures.py) read its ``predictions``.
- ``predict_step`` returns a ``PredictStepOutput``: eval.py and predict.py print and save it.

tests/test_contracts.py builds every task × model × loss × optimizer × scheduler and checks the pair.
"""

from typing import Protocol, TypedDict, runtime_checkable

from torch import Tensor, nn
from torchmetrics import MetricCollection


class Predictions(TypedDict):
    predictions: Tensor  # predict(outputs), one per example of the batch


class TestStepOutput(Predictions):
    """What ``test_step`` returns for one batch: its ``predictions`` and ``loss``."""

    __test__ = False  # not a pytest test class, despite its name

    loss: Tensor


class PredictStepOutput(Predictions, total=False):
    """What ``predict_step`` returns for one batch of inputs (or of ``(inputs, targets)``): ``predictions``, and
    ``probabilities`` (how sure each one is) where the kind has such a number, ``targets`` when the batch had them
    (eval's test split)."""

    probabilities: Tensor
    targets: Tensor


@runtime_checkable
class TaskModule(Protocol):
    """What every task's LightningModule provides (see the module docstring)."""

    net: nn.Module

    def make_metrics(self) -> MetricCollection: ...

    def predict(self, outputs: Tensor) -> Tensor: ...

    def test_step(self, batch: tuple[Tensor, Tensor], batch_index: int) -> TestStepOutput: ...

    def predict_step(self, batch: Tensor | tuple[Tensor, ...], batch_index: int) -> PredictStepOutput: ...
