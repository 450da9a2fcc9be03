"""Rectangular spiked model: singular values of noise plus low rank, and shrinkers inverting it.

Normalization (REFERENCE 2.4, last bullet). ``Y = X + sum_i theta_i u_i v_i^T`` is m x n with
``N = max(m, n)``, aspect ratio ``c = min(m, n) / N <= 1``, unit vectors u_i, v_i and noise
X with independent entries of variance ``1 / N``. The singular values of X fill
``[1 - sqrt(c), 1 + sqrt(c)]``. A signal value ``theta > c^(1/4)`` produces a singular value at

    s(theta) = sqrt((1 + theta^2) (c + theta^2)) / theta     (> 1 + sqrt(c)),

and below that threshold it sticks to the edge ``1 + sqrt(c)``. The squared overlaps of the
outlier's singular vectors with the signal's are
``1 - c (1 + theta^2) / (theta^2 (theta^2 + c))`` on the shorter side (length min(m, n)) and
``1 - (c + theta^2) / (theta^2 (theta^2 + 1))`` on the longer side.

A raw matrix whose noise entries have standard deviation ``sigma`` is brought to these units by
dividing its singular values by ``scale = sigma sqrt(N)``; every function here takes ``scale``
and returns values in the units of its input.
"""

from __future__ import annotations

from typing import Literal

import numpy as np


def _check_ratio(c: float) -> float:
    if not 0 < c <= 1:
        raise ValueError(f"the aspect ratio c = min(m, n) / max(m, n) must be in (0, 1], got {c}")
    return float(c)


def noise_edge(c: float, scale: float = 1.0) -> float:
    """Top edge ``scale (1 + sqrt(c))`` of the noise singular values."""
    return scale * (1 + np.sqrt(_check_ratio(c)))


def spike_threshold(c: float, scale: float = 1.0) -> float:
    """Smallest signal singular value ``scale c^(1/4)`` that separates from the noise."""
    return scale * _check_ratio(c) ** 0.25


def spike_singular_value(theta: np.ndarray, c: float, scale: float = 1.0) -> np.ndarray:
    """Limit singular value of ``Y`` for signal values theta (the edge below the threshold)."""
    c = _check_ratio(c)
    t = np.abs(np.asarray(theta, dtype=float)) / scale
    above = t > c**0.25
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.sqrt((1 + t**2) * (c + t**2)) / t
    return scale * np.where(above, s, 1 + np.sqrt(c))


def spike_overlaps(theta: np.ndarray, c: float, scale: float = 1.0) -> tuple:
    """Limit squared singular-vector overlaps ``(short side, long side)``; 0 below threshold."""
    c = _check_ratio(c)
    t2 = (np.asarray(theta, dtype=float) / scale) ** 2
    above = t2 > np.sqrt(c)
    with np.errstate(divide="ignore", invalid="ignore"):
        short = 1 - c * (1 + t2) / (t2 * (t2 + c))
        long = 1 - (c + t2) / (t2 * (t2 + 1))
    return np.where(above, short, 0.0), np.where(above, long, 0.0)


def shrink_singular_values(
    s: np.ndarray,
    c: float,
    scale: float = 1.0,
    kind: Literal["inverse", "frobenius"] = "inverse",
) -> np.ndarray:
    """Shrink observed singular values s of ``signal + noise`` (same units as s).

    ``kind="inverse"`` inverts ``s(theta)``: ``theta^2 = (x + sqrt(x^2 - 4c)) / 2`` with
    ``x = (s/scale)^2 - 1 - c``, a consistent estimate of the signal singular value.
    ``kind="frobenius"`` multiplies that by the square root of the two overlaps, which is the
    asymptotically optimal shrinker for the Frobenius error of the low-rank estimate.
    Values at or below the noise edge ``scale (1 + sqrt(c))`` become 0.
    """
    c = _check_ratio(c)
    y = np.asarray(s, dtype=float) / scale
    x = y**2 - 1 - c
    above = y > 1 + np.sqrt(c)
    theta = np.sqrt(np.where(above, (x + np.sqrt(np.clip(x**2 - 4 * c, 0, None))) / 2, 0.0))
    if kind == "frobenius":
        short, long = spike_overlaps(np.where(above, theta, 0.0), c)
        theta = theta * np.sqrt(short * long)
    elif kind != "inverse":
        raise ValueError(f"kind must be 'inverse' or 'frobenius', got {kind!r}")
    return scale * np.where(above, theta, 0.0)
