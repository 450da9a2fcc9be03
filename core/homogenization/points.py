"""Point sets ``x_1..x_N`` of resolution H = 1/coarse_n inside the unit square."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.spatial import cKDTree

from core.errors import UserError

PointsKind = Literal["lattice", "jittered", "random", "anisotropic"]


@dataclass
class PointsSpec:
    """How to place the points for a coarse resolution H.

    ``lattice``: interior nodes of the H-grid. ``jittered``: those moved by up to
    ``jitter`` H in each direction. ``random``: dart throwing with separation ``separation``
    H, then holes filled until the fill distance is at most that of the lattice (H/sqrt 2).
    ``anisotropic``: a lattice of spacing H in y and H/``aspect`` in x.
    """

    kind: PointsKind = "lattice"
    jitter: float = 0.3
    separation: float = 0.5
    aspect: float = 4.0
    seed: int | None = None


def lattice(coarse_n: int) -> np.ndarray:
    """Interior nodes ``(i H, j H)``, 1 <= i, j < coarse_n, as a (2, N) array."""
    ticks = np.arange(1, coarse_n) / coarse_n
    X, Y = np.meshgrid(ticks, ticks, indexing="ij")
    return np.vstack([X.ravel(), Y.ravel()])


def fill_distance(points: np.ndarray, resolution: int = 256) -> float:
    """Largest distance from a point of the square to the nearest of ``points`` or to the
    boundary (where u = 0 is known), sampled on a grid of ``resolution`` cells per side."""
    ticks = np.linspace(0.0, 1.0, resolution + 1)
    X, Y = np.meshgrid(ticks, ticks, indexing="ij")
    grid = np.vstack([X.ravel(), Y.ravel()])
    d_points, _ = cKDTree(points.T).query(grid.T)
    d_boundary = np.minimum(grid, 1 - grid).min(axis=0)
    return float(np.minimum(d_points, d_boundary).max())


def dart_throwing(n_target: int, separation: float, rng: np.random.Generator) -> np.ndarray:
    """Uniform random points at mutual and boundary distance >= ``separation``."""
    candidates = rng.uniform(separation, 1 - separation, size=(8 * n_target, 2))
    accepted = np.empty((0, 2))
    for x in candidates:
        if accepted.shape[0] >= n_target:
            break
        if accepted.shape[0] == 0 or np.min(np.sum((accepted - x) ** 2, axis=1)) >= separation**2:
            accepted = np.vstack([accepted, x])
    return accepted.T


def fill_holes(points: np.ndarray, target: float, resolution: int) -> np.ndarray:
    """Add points greedily at the farthest grid node until the fill distance <= target."""
    ticks = np.linspace(0.0, 1.0, resolution + 1)
    X, Y = np.meshgrid(ticks, ticks, indexing="ij")
    grid = np.vstack([X.ravel(), Y.ravel()])
    d, _ = cKDTree(points.T).query(grid.T)
    d = np.minimum(d, np.minimum(grid, 1 - grid).min(axis=0))
    added = []
    while d.max() > target:
        x = grid[:, np.argmax(d)]
        added.append(x)
        d = np.minimum(d, np.linalg.norm(grid - x[:, None], axis=0))
    return np.hstack([points, np.array(added).T]) if added else points


def point_set(spec: PointsSpec, coarse_n: int, fine_n: int, seed: int = 0) -> np.ndarray:
    """The (2, N) points of kind ``spec.kind`` at resolution H = 1/coarse_n; points stay
    at least a fine cell apart so that point evaluation is well posed on the fine mesh."""
    rng = np.random.default_rng(spec.seed if spec.seed is not None else seed)
    H = 1.0 / coarse_n
    if spec.kind == "lattice":
        return lattice(coarse_n)
    if spec.kind == "jittered":
        if not 0 <= spec.jitter < 0.5:
            raise UserError(f"points.jitter={spec.jitter} must lie in [0, 0.5)")
        base = lattice(coarse_n)
        return base + rng.uniform(-spec.jitter * H, spec.jitter * H, size=base.shape)
    if spec.kind == "random":
        if spec.separation * H < 2.0 / fine_n:
            raise UserError("points.separation is below two fine cells: raise it or fine_n")
        darts = dart_throwing((coarse_n - 1) ** 2, spec.separation * H, rng)
        return fill_holes(darts, H / np.sqrt(2.0), resolution=8 * coarse_n)
    if spec.kind == "anisotropic":
        # LIMITATION: the fill distance falls from H/sqrt2 towards H/2 as the aspect grows,
        # so "equal fill distance" holds only up to that factor (reported per run).
        nx = int(round(spec.aspect * coarse_n))
        if nx > fine_n // 2:
            raise UserError(f"points.aspect={spec.aspect} puts points closer than 2 fine cells")
        xs, ys = np.arange(1, nx) / nx, np.arange(1, coarse_n) / coarse_n
        X, Y = np.meshgrid(xs, ys, indexing="ij")
        return np.vstack([X.ravel(), Y.ravel()])
    raise UserError(f"unknown points kind {spec.kind!r}")
