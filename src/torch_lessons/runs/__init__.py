"""Hydra-side bookkeeping of one run: its run dir, its result.json, its config tree and printed report."""
