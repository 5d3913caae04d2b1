"""Callbacks that print what the lessons print: per-epoch figures and the few learned parameters."""

import lightning as L

from torch_lessons.runs.report import format_stage_metrics, scalar_metrics


class PrintEpochMetrics(L.Callback):
    """After every ``every_n_epochs``-th validation prints ``Epoch 3 test: Accuracy: 71.2%, Avg loss: 0.812345``.

    ``label`` names what the validation loop read: ``test`` when the datamodule validates on the test
    split, as the Quickstart's per-epoch test loop does.
    """

    def __init__(self, label: str = "val", every_n_epochs: int = 1) -> None:
        self.label = label
        self.every_n_epochs = every_n_epochs

    def on_validation_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        epoch = trainer.current_epoch + 1
        if trainer.sanity_checking or not trainer.is_global_zero or epoch % self.every_n_epochs:
            return
        metrics = scalar_metrics(trainer.callback_metrics)
        print(f"Epoch {epoch} {self.label}: {format_stage_metrics(metrics, 'val')}")


class PrintLearnedParameters(L.Callback):
    """At the end of fitting prints each parameter's values, when there are at most ``max_values``
    (a, or W and b); larger nets are summarised by their parameter count."""

    def __init__(self, max_values: int = 20) -> None:
        self.max_values = max_values

    def on_fit_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        parameters = dict(module.named_parameters())
        count = sum(parameter.numel() for parameter in parameters.values())
        if count > self.max_values:
            print(f"Learned parameters: {count:,} values (more than {self.max_values} to print)")
            return
        for name, parameter in parameters.items():
            values = parameter.detach().cpu().double().numpy().round(4).tolist()
            print(f"Learned {name} = {values}")
