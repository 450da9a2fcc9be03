"""Pruning of network weights: MP spectral truncation, its baselines, and their schedules."""
