"""Data sets, models, the training loop, losses and stability measures."""
