"""The Marchenko-Pastur law and the bulk fit of weight spectra (REFERENCE.md 2.1-2.2).

Conventions: W is m x n, p = min(m, n), N = max(m, n), gamma = p / N <= 1. The
eigenvalues ``lam = s**2 / N`` of the p x p Gram matrix of a matrix with i.i.d. entries of
variance sigma^2 follow MP(sigma^2, gamma) with edges ``sigma^2 (1 +- sqrt(gamma))^2``;
the singular-value edge is ``sigma_plus = sqrt(N lambda_plus)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.errors import ConfigError

# Quantiles of the Tracy-Widom law for beta = 1 (real matrices), for the edge margin.
TW1_QUANTILES = {0.90: 0.4501, 0.95: 0.9793, 0.99: 2.0234}


def mp_edges(gamma: float, sigma2: float = 1.0) -> tuple[float, float]:
    """Edges (lambda_minus, lambda_plus) of MP(sigma2, gamma), in eigenvalue units."""
    root = np.sqrt(gamma)
    return sigma2 * (1.0 - root) ** 2, sigma2 * (1.0 + root) ** 2


def mp_pdf(x: np.ndarray, gamma: float, sigma2: float = 1.0) -> np.ndarray:
    """Density of MP(sigma2, gamma) at ``x`` (zero outside the support), for gamma <= 1."""
    x = np.asarray(x, dtype=float)
    lo, hi = mp_edges(gamma, sigma2)
    inside = (x > lo) & (x < hi)
    out = np.zeros_like(x)
    xi = x[inside]
    out[inside] = np.sqrt((hi - xi) * (xi - lo)) / (2.0 * np.pi * sigma2 * gamma * xi)
    return out


def mp_cdf(x: np.ndarray, gamma: float, sigma2: float = 1.0) -> np.ndarray:
    """CDF of MP(sigma2, gamma) at ``x`` in closed form (no quadrature), for gamma <= 1.

    Uses the antiderivative of ``sqrt((b - t)(t - a)) / t`` on [a, b]:
    ``r + (a+b)/2 asin((2t-a-b)/(b-a)) - sqrt(ab) asin(((a+b)t - 2ab)/(t(b-a)))``.
    """
    t = np.asarray(x, dtype=float) / sigma2
    a, b = mp_edges(gamma)
    tc = np.clip(t, a, b)

    def antiderivative(u: np.ndarray) -> np.ndarray:
        r = np.sqrt(np.clip((b - u) * (u - a), 0.0, None))
        s1 = np.arcsin(np.clip((2 * u - a - b) / (b - a), -1.0, 1.0))
        if a <= 0.0:  # gamma = 1: the second term is constant
            return r + 0.5 * (a + b) * s1
        s2 = np.arcsin(np.clip(((a + b) * u - 2 * a * b) / (u * (b - a)), -1.0, 1.0))
        return r + 0.5 * (a + b) * s1 - np.sqrt(a * b) * s2

    base = antiderivative(np.array([a]))[0]
    cdf = (antiderivative(tc) - base) / (2.0 * np.pi * gamma)
    return np.clip(np.where(t >= b, 1.0, cdf), 0.0, 1.0)


def mp_quantiles(q: np.ndarray, gamma: float, sigma2: float = 1.0, grid: int = 4097) -> np.ndarray:
    """Quantiles of MP(sigma2, gamma) at levels ``q`` in [0, 1], vectorized.

    The CDF is tabulated once on a grid that is uniform in the angle of
    ``x = c - h cos(theta)`` (dense near both square-root edges) and inverted by
    interpolation; the error is far below the sampling noise of any spectrum.
    """
    a, b = mp_edges(gamma)
    theta = np.linspace(0.0, np.pi, grid)
    xs = 0.5 * (a + b) - 0.5 * (b - a) * np.cos(theta)
    return sigma2 * np.interp(np.asarray(q, dtype=float), mp_cdf(xs, gamma), xs)


def check_fit_options(alpha: float, tw_level: float, prefix: str = "") -> None:
    """Raise ConfigError unless ``0 <= alpha < 0.5`` and ``tw_level`` has a tabulated quantile."""
    if not 0 <= alpha < 0.5:
        raise ConfigError(f"{prefix}alpha must be in [0, 0.5), got {alpha}")
    if tw_level not in TW1_QUANTILES:
        raise ConfigError(
            f"{prefix}tw_level must be one of {sorted(TW1_QUANTILES)}, got {tw_level}"
        )


def tw_margin(gamma: float, n_big: int, level: float = 0.95) -> float:
    """Tracy-Widom margin added to the unit edge: ``t N^-2/3 gamma^-1/6 (1+sqrt(gamma))^4/3``."""
    check_fit_options(0.0, level)
    t = TW1_QUANTILES[level]
    edge = (1.0 + np.sqrt(gamma)) ** (4.0 / 3.0)
    return t * n_big ** (-2.0 / 3.0) * gamma ** (-1.0 / 6.0) * edge


@dataclass(frozen=True)
class MPFit:
    """Result of a Marchenko-Pastur bulk fit of one m x n matrix.

    ``sigma_hat`` is the entry noise level (std); ``lambda_plus`` the fitted eigenvalue
    edge with the Tracy-Widom margin; ``sigma_plus`` the singular-value edge
    ``sqrt(N lambda_plus)``; ``spikes`` the number of singular values above it; ``gof``
    the sup distance between the MP and empirical CDFs on the fit window.
    """

    m: int
    n: int
    sigma_hat: float
    lambda_plus: float
    sigma_plus: float
    spikes: int
    gof: float

    @property
    def gamma(self) -> float:
        return min(self.m, self.n) / max(self.m, self.n)


def gram_eigenvalues(w: np.ndarray) -> np.ndarray:
    """Ascending eigenvalues ``s**2 / N`` of the smaller Gram matrix of ``w`` (float64 out).

    The Gram product and the symmetric solve run in float32, as in weight analysis tools.
    The solve goes through torch's LAPACK (MKL in the pip wheels), about twice as fast as
    OpenBLAS's on a 3000 x 3000 Gram matrix; tiny negative round-off is clipped to zero.
    """
    import torch

    w = np.asarray(w, dtype=np.float32)
    n_big = max(w.shape)
    gram = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
    lam = torch.linalg.eigvalsh(torch.from_numpy(gram)).double().numpy() / n_big
    return np.clip(lam, 0.0, None)


def fit_mp_bulk(
    s: np.ndarray,
    m: int,
    n: int,
    alpha: float = 0.25,
    tw_level: float = 0.95,
    zero_tol: float = 1e-9,
) -> MPFit:
    """Fit the MP bulk to the singular values ``s`` of an m x n matrix (BEMA-type).

    The sorted eigenvalues ``lam = s**2 / N`` on the central quantile window
    ``[alpha p, (1 - alpha) p]`` are regressed through the origin on the MP(1, gamma)
    quantiles: ``sigma_hat^2 = sum q lam / sum q^2``. Spikes and near-zero values do not
    move this. Exact zeros (a matrix already truncated to low rank) are treated as missing
    low order statistics: the kept values keep their ranks among all p.

    Returns an :class:`MPFit`; ``sigma_hat`` is the entry standard deviation.
    """
    p, n_big = min(m, n), max(m, n)
    gamma = p / n_big
    s = np.sort(np.abs(np.asarray(s, dtype=np.float64)))[-p:]
    lam = s**2 / n_big
    if lam.size < p:  # fewer values than p given: the rest are zeros
        lam = np.concatenate([np.zeros(p - lam.size), lam])

    # ranks (1-based) of the values that are really there
    scale = lam.max() if lam.size else 0.0
    first = int(np.searchsorted(lam, zero_tol * max(scale, 1e-300), side="right"))
    ranks = np.arange(1, p + 1)
    lo, hi = int(np.ceil(alpha * p)), int(np.floor((1.0 - alpha) * p))
    window = (ranks >= max(lo, first + 1)) & (ranks <= hi)
    min_window = max(8, p // 20)
    if window.sum() < min_window:
        # LIMITATION: so little of the bulk is left that the central window is gone; fit
        # on the lowest values that remain (the top of the bulk), which biases sigma_hat
        # when spikes are among them. Keeping the previous fit would avoid this.
        window = (ranks > first) & (ranks <= min(p, first + min_window))
    if window.sum() == 0:
        return MPFit(m, n, 0.0, 0.0, 0.0, int((lam > 0).sum()), 1.0)

    levels = (ranks[window] - 0.5) / p
    q = mp_quantiles(levels, gamma)
    y = lam[window]
    sigma2 = float(np.dot(q, y) / np.dot(q, q))

    lambda_plus = sigma2 * ((1.0 + np.sqrt(gamma)) ** 2 + tw_margin(gamma, n_big, tw_level))
    spikes = int((lam > lambda_plus).sum())
    gof = float(np.max(np.abs(mp_cdf(y, gamma, sigma2) - levels))) if sigma2 > 0 else 1.0
    return MPFit(
        m=m,
        n=n,
        sigma_hat=float(np.sqrt(sigma2)),
        lambda_plus=float(lambda_plus),
        sigma_plus=float(np.sqrt(n_big * lambda_plus)),
        spikes=spikes,
        gof=gof,
    )


def sigma_plus(sigma: float, m: int, n: int) -> float:
    """Singular-value edge ``sigma (sqrt(m) + sqrt(n))`` of an m x n noise matrix."""
    return float(sigma * (np.sqrt(m) + np.sqrt(n)))


def gavish_donoho_omega(beta: float) -> float:
    """Gavish-Donoho coefficient omega(beta) for an unknown noise level (beta = p / N)."""
    return 0.56 * beta**3 - 0.95 * beta**2 + 1.82 * beta + 1.43


def gavish_donoho_threshold(s: np.ndarray, m: int, n: int, sigma: float | None = None) -> float:
    """Optimal hard threshold for singular values (Gavish-Donoho 2014).

    With ``sigma`` unknown: ``omega(beta) * median(s)``; known: ``lambda*(beta) sqrt(N) sigma``.
    Returns the threshold in singular-value units.
    """
    p, n_big = min(m, n), max(m, n)
    beta = p / n_big
    if sigma is None:
        s = np.sort(np.abs(np.asarray(s, dtype=float)))[-p:]
        return float(gavish_donoho_omega(beta) * np.median(s))
    lam_star = np.sqrt(2 * (beta + 1) + 8 * beta / ((beta + 1) + np.sqrt(beta**2 + 14 * beta + 1)))
    return float(lam_star * np.sqrt(n_big) * sigma)
