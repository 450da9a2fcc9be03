"""Benchmark coefficient fields of REFERENCE.md 1.1, evaluated pointwise (at fine element
centroids in practice, so the discrete coefficient is piecewise constant per fine element)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import ndimage

from core.errors import UserError

CoefficientKind = Literal[
    "constant", "trig", "checkerboard", "random_uniform", "lognormal", "channels", "inclusions"
]


@dataclass
class CoefficientSpec:
    """One benchmark field; only the keys its ``kind`` uses matter.

    ``K``: trig levels. ``cells``: cell grid of checkerboard/random fields. ``contrast``:
    high value (background 1) of checkerboard, channels, inclusions. ``low``/``high``:
    range of random_uniform. ``sigma``/``correlation``: lognormal ``exp(sigma g)`` with g a
    unit-variance Gaussian field of that correlation length. ``count``/``width``/``radius``:
    channels and inclusions. ``seed``: random fields (None: the run's seed).
    """

    kind: CoefficientKind = "trig"
    K: int = 5
    cells: int = 16
    contrast: float = 100.0
    low: float = 1.0
    high: float = 100.0
    sigma: float = 1.0
    correlation: float = 0.05
    count: int = 4
    width: float = 0.02
    radius: float = 0.06
    seed: int | None = None


def trig_field(x: np.ndarray, K: int) -> np.ndarray:
    """Owhadi-Zhang multiscale trigonometric coefficient at points ``x`` (2, m)."""
    s, d = x[0] + x[1], x[1] - 3 * x[0]
    a = np.ones(x.shape[1])
    for k in range(1, K + 1):
        a *= (1 + 0.5 * np.cos(2**k * np.pi * s)) * (1 + 0.5 * np.sin(2**k * np.pi * d))
    return a


def cell_index(x: np.ndarray, cells: int) -> tuple[np.ndarray, np.ndarray]:
    """Column and row of the cell of a ``cells`` x ``cells`` grid holding each point."""
    ij = np.clip(np.floor(x * cells).astype(int), 0, cells - 1)
    return ij[0], ij[1]


def lognormal_cells(spec: CoefficientSpec, rng: np.random.Generator) -> np.ndarray:
    """Cell values ``exp(sigma g)``, g white noise smoothed to the correlation length and
    scaled to unit variance (periodic Gaussian filter)."""
    # LIMITATION: a filtered-noise field, not an exact Matern/Gaussian covariance; its
    # correlation length is that of the filter only up to a constant factor.
    g = rng.standard_normal((spec.cells, spec.cells))
    width = spec.correlation * spec.cells
    if width > 0:
        g = ndimage.gaussian_filter(g, sigma=width, mode="wrap")
    g = (g - g.mean()) / max(g.std(), 1e-300)
    return np.exp(spec.sigma * g)


def coefficient_field(spec: CoefficientSpec, x: np.ndarray, seed: int = 0) -> np.ndarray:
    """Value of the coefficient ``a`` at the points ``x`` (2, m); dimensionless, >= min > 0."""
    rng = np.random.default_rng(spec.seed if spec.seed is not None else seed)
    if spec.kind == "constant":
        return np.ones(x.shape[1])
    if spec.kind == "trig":
        return trig_field(x, spec.K)
    if spec.kind == "checkerboard":
        i, j = cell_index(x, spec.cells)
        return np.where((i + j) % 2 == 1, spec.contrast, 1.0)
    if spec.kind == "random_uniform":
        values = rng.uniform(spec.low, spec.high, size=(spec.cells, spec.cells))
        i, j = cell_index(x, spec.cells)
        return values[i, j]
    if spec.kind == "lognormal":
        i, j = cell_index(x, spec.cells)
        return lognormal_cells(spec, rng)[i, j]
    if spec.kind == "channels":
        # horizontal strips of the given width, evenly spaced in y
        centers = (np.arange(spec.count) + 0.5) / spec.count
        inside = np.abs(x[1][:, None] - centers[None, :]).min(axis=1) < spec.width / 2
        return np.where(inside, spec.contrast, 1.0)
    if spec.kind == "inclusions":
        centers = rng.uniform(spec.radius, 1 - spec.radius, size=(spec.count, 2))
        dist = np.linalg.norm(x.T[:, None, :] - centers[None, :, :], axis=2).min(axis=1)
        return np.where(dist < spec.radius, spec.contrast, 1.0)
    raise UserError(f"unknown coefficient kind {spec.kind!r}")


def contrast(a: np.ndarray) -> float:
    """Contrast ``max a / min a`` of sampled coefficient values (dimensionless)."""
    return float(a.max() / a.min())
