"""LightningModules, one per kind of task; nets, losses and optimizers are injected."""
