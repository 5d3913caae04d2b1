"""LightningDataModules: Fashion-MNIST images and small in-memory tables."""
