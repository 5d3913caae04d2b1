"""torch-lessons' Hydra launcher for SLURM (``hydra/launcher=slurm``); Hydra finds launchers in ``hydra_plugins``."""
