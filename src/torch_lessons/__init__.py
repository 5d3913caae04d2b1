"""The classic PyTorch beginner lessons as Lightning + Hydra experiments."""
