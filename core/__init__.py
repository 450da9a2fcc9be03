"""scalelab core: all real work, importable without Hydra."""
