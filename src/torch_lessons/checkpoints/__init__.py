"""Checkpoint files: written atomically, loaded and checked, resumed from, fine-tuned from."""
