"""Plain ``nn.Module`` networks; Hydra builds them and hands them to a LightningModule."""
