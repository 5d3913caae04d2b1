"""torch-lessons' Optuna sweeper (``hparams_search=...``); Hydra finds sweepers in ``hydra_plugins``."""
