"""What a checkpoint carries besides weights: the run's config and choices, so it can be checked later."""

from typing import Any

import lightning as L

from torch_lessons.checkpoints.loading import RUN_KEY


class StoreRunInCheckpoint(L.Callback):
    """Adds the run's resolved config and its config-group choices to every checkpoint.

    Only plain dicts, lists, strings and numbers go in, so the checkpoint stays loadable with
    ``torch.load(weights_only=True)`` and eval can name the ``task=``/``model=`` that made it.
    """

    def __init__(self, config: dict[str, Any], choices: dict[str, Any]) -> None:
        self.run = {"config": config, "choices": choices}

    def on_save_checkpoint(self, trainer: L.Trainer, module: L.LightningModule, checkpoint: dict) -> None:
        checkpoint[RUN_KEY] = self.run
