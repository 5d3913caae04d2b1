"""Hydra-side features of multi-runs (-m): the sweep plan and summary, signals to a sweep, jobs that
share the cores, and the Slurm launcher's additions."""
