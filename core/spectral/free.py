"""Free additive convolution of the semicircle with a law nu: Stieltjes transforms, subordination.

Conventions (REFERENCE 2.4). The Stieltjes transform of a probability law mu is
``m_mu(z) = int dmu(x) / (x - z)``, so ``Im m > 0`` for ``Im z > 0`` and ``m ~ -1/z`` at
infinity; the Cauchy transform is ``G_mu = -m_mu``. The semicircle of variance ``sigma^2``
lives on ``[-2 sigma, 2 sigma]``. For ``mu = sc_sigma boxplus nu`` the subordination function
``omega(z) = z + sigma^2 m_mu(z)`` satisfies ``m_mu(z) = m_nu(omega(z))``, that is

    omega = z + sigma^2 m_nu(omega),            Im omega >= Im z,

whose inverse on the real axis is ``F(u) = u - sigma^2 m_nu(u) = u + sigma^2 G_nu(u)``.
With ``h(u) = sigma^2 int dnu(s) / (s - u)^2`` and ``U = {u outside supp nu : h(u) < 1}``, the
complement of ``supp mu`` is ``F(U)`` (Biane), the support edges are the images of the
solutions of ``h(u) = 1``, and a spike theta of the perturbation (an eigenvalue of weight
``1/N``) produces an outlier at ``F(theta)`` exactly when ``theta`` is in ``U``; the squared
overlap of its eigenvector with the spike direction tends to ``F'(theta) = 1 - h(theta)``.
For ``nu = delta_0`` this is the finite-rank rule: ``theta + sigma^2 / theta`` when
``|theta| > sigma`` and overlap ``1 - sigma^2 / theta^2``.

Laws nu are :class:`PointMasses`, :class:`Uniform` or a :class:`Mixture` of them; each gives
its resolvent moments ``R_k(w) = int dnu(s) / (s - w)^k``, vectorized over ``w``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from core.errors import UserError

log = logging.getLogger(__name__)

# resolvent moments of point masses are evaluated in chunks of this many (point, atom) pairs
_CHUNK = 2_000_000


class ConvergenceError(UserError):
    """The subordination fixed point did not converge; the message says what to change."""


class SpectralLaw(Protocol):
    """A probability law on the real line known through its resolvent moments."""

    def resolvent_moment(self, w: np.ndarray, k: int) -> np.ndarray:
        """``int dnu(s) / (s - w)^k`` for each ``w`` (complex, or real outside the support)."""
        ...

    def support(self) -> np.ndarray:
        """Closed intervals ``[[a, b], ...]`` whose union is the support (atoms have a = b)."""
        ...


@dataclass(frozen=True)
class PointMasses:
    """Discrete law ``sum_j weights_j delta_{atoms_j}``; weights default to equal (empirical)."""

    atoms: np.ndarray
    weights: np.ndarray | None = None

    def __post_init__(self) -> None:
        atoms = np.atleast_1d(np.asarray(self.atoms, dtype=float))
        if self.weights is None:
            weights = np.full(atoms.shape, 1.0 / atoms.size)
        else:
            weights = np.atleast_1d(np.asarray(self.weights, dtype=float))
        if atoms.shape != weights.shape or atoms.ndim != 1 or atoms.size == 0:
            raise ValueError("atoms and weights must be non-empty 1-d arrays of the same length")
        if np.any(weights < 0) or not np.isclose(weights.sum(), 1.0, atol=1e-10):
            raise ValueError("weights must be non-negative and sum to 1")
        object.__setattr__(self, "atoms", atoms)
        object.__setattr__(self, "weights", weights)

    def resolvent_moment(self, w: np.ndarray, k: int) -> np.ndarray:
        """``sum_j weights_j / (atoms_j - w)^k``, same shape as ``w``."""
        w = np.asarray(w)
        flat = w.reshape(-1)
        out = np.empty(flat.shape, dtype=np.result_type(flat, float))
        step = max(1, _CHUNK // self.atoms.size)
        for start in range(0, flat.size, step):
            block = flat[start : start + step, None]
            out[start : start + step] = (self.weights / (self.atoms - block) ** k).sum(axis=1)
        return out.reshape(w.shape)

    def support(self) -> np.ndarray:
        """Each atom of positive weight as a degenerate interval ``[s, s]``."""
        s = np.unique(self.atoms[self.weights > 0])
        return np.stack([s, s], axis=1)


@dataclass(frozen=True)
class Uniform:
    """Uniform law on ``[low, high]``."""

    low: float
    high: float

    def __post_init__(self) -> None:
        if not self.high > self.low:
            raise ValueError(f"uniform law needs low < high, got [{self.low}, {self.high}]")

    def resolvent_moment(self, w: np.ndarray, k: int) -> np.ndarray:
        """``(1/(b-a)) int_a^b ds / (s - w)^k`` in closed form (logarithm for k = 1)."""
        w = np.asarray(w)
        a, b = self.low, self.high
        if k == 1:
            # two principal logarithms (not the log of the ratio) keep the branch right in C+
            if np.iscomplexobj(w):
                return (np.log(b - w) - np.log(a - w)) / (b - a)
            return np.log(np.abs(b - w) / np.abs(a - w)) / (b - a)
        return ((b - w) ** (1 - k) - (a - w) ** (1 - k)) / ((1 - k) * (b - a))

    def support(self) -> np.ndarray:
        """The interval ``[[low, high]]``."""
        return np.array([[self.low, self.high]])


@dataclass(frozen=True)
class Mixture:
    """Convex combination ``sum_i weights_i parts_i`` of laws."""

    parts: tuple
    weights: tuple = field(default=())

    def __post_init__(self) -> None:
        weights = self.weights or tuple(1.0 / len(self.parts) for _ in self.parts)
        if len(weights) != len(self.parts) or not np.isclose(sum(weights), 1.0):
            raise ValueError("a mixture needs one weight per part, summing to 1")
        object.__setattr__(self, "weights", tuple(float(x) for x in weights))

    def resolvent_moment(self, w: np.ndarray, k: int) -> np.ndarray:
        """Weighted sum of the parts' resolvent moments."""
        pairs = zip(self.weights, self.parts, strict=True)
        return sum(c * p.resolvent_moment(w, k) for c, p in pairs if c)

    def support(self) -> np.ndarray:
        """Union of the parts' supports (parts of zero weight left out)."""
        pairs = zip(self.weights, self.parts, strict=True)
        return np.concatenate([p.support() for c, p in pairs if c > 0])


def stieltjes_semicircle(z: np.ndarray, sigma: float) -> np.ndarray:
    """Stieltjes transform ``int dsc(x)/(x - z)`` of the semicircle on ``[-2 sigma, 2 sigma]``.

    The product of two principal square roots picks the branch with ``m ~ -1/z`` off the cut.
    """
    z = np.asarray(z, dtype=complex)
    return (-z + np.sqrt(z - 2 * sigma) * np.sqrt(z + 2 * sigma)) / (2 * sigma**2)


def semicircle_density(x: np.ndarray, sigma: float) -> np.ndarray:
    """Semicircle density ``sqrt(4 sigma^2 - x^2) / (2 pi sigma^2)`` (zero outside the edges)."""
    x = np.asarray(x, dtype=float)
    return np.sqrt(np.clip(4 * sigma**2 - x**2, 0, None)) / (2 * np.pi * sigma**2)


def stieltjes_empirical(z: np.ndarray, eigenvalues: np.ndarray) -> np.ndarray:
    """Stieltjes transform ``(1/n) sum_i 1/(lambda_i - z)`` of an empirical spectral measure."""
    return PointMasses(np.ravel(eigenvalues)).resolvent_moment(np.asarray(z, dtype=complex), 1)


def _merged_components(intervals: np.ndarray) -> np.ndarray:
    """Sorted disjoint closed intervals covering the union of ``intervals``."""
    order = np.argsort(intervals[:, 0])
    iv = intervals[order]
    # a new component starts where the left end exceeds every right end seen so far
    reach = np.maximum.accumulate(iv[:, 1])
    starts = np.r_[True, iv[1:, 0] > reach[:-1]]
    idx = np.flatnonzero(starts)
    ends = np.r_[idx[1:] - 1, len(iv) - 1]
    return np.stack([iv[idx, 0], reach[ends]], axis=1)


def _bisect(fun, lo: np.ndarray, hi: np.ndarray, increasing: np.ndarray, iters: int = 200):
    """Vectorized bisection for a sign change of ``fun`` on each ``(lo, hi)`` (ends never used)."""
    lo, hi = lo.astype(float).copy(), hi.astype(float).copy()
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        pos = fun(mid) > 0
        go_left = pos == increasing
        hi = np.where(go_left, mid, hi)
        lo = np.where(go_left, lo, mid)
        if np.all(hi - lo <= 4 * np.finfo(float).eps * np.maximum(1.0, np.abs(mid))):
            break
    return 0.5 * (lo + hi)


class DeformedSemicircle:
    """The law ``mu = sc_sigma boxplus nu``: limit spectrum of ``W + S`` (S with spectral law nu).

    Parameters
    ----------
    nu
        Spectral law of the perturbation S.
    sigma
        Noise level: W has off-diagonal entry variance ``sigma^2 / N``.
    """

    def __init__(self, nu: SpectralLaw, sigma: float) -> None:
        if not sigma > 0:
            raise UserError(f"sigma must be positive, got {sigma}")
        self.nu = nu
        self.sigma = float(sigma)
        self._edges: np.ndarray | None = None
        self._cdf_table: tuple[np.ndarray, np.ndarray] | None = None

    # -- subordination ---------------------------------------------------------------------
    def subordination(
        self,
        z: np.ndarray,
        *,
        damping: float = 0.5,
        tol: float = 1e-12,
        max_iter: int = 5000,
    ) -> np.ndarray:
        """Subordination function ``omega(z)`` for ``Im z > 0``, same shape as ``z``.

        Damped fixed point ``omega <- (1 - damping) omega + damping (z + sigma^2 m_nu(omega))``,
        which stays in the upper half-plane and converges from any start there (the map is a
        holomorphic self-map of C+ with at most one fixed point). Near the real axis that
        contraction is slow at the spectral edges, so a Newton step on
        ``g(omega) = omega - z - sigma^2 m_nu(omega)`` replaces the damped step wherever it
        keeps ``Im omega > Im z`` (true of the fixed point) and lowers ``|g|``. Converged when
        ``|g| <= tol (1 + |omega|)``; raises :class:`ConvergenceError` otherwise.
        """
        z = np.asarray(z, dtype=complex)
        if np.any(z.imag <= 0):
            raise ValueError("the subordination solver needs Im z > 0 at every point")
        s2 = self.sigma**2
        shape, zf = z.shape, z.reshape(-1)
        omega = zf + 1j * self.sigma
        done = np.zeros(zf.size, dtype=bool)
        active = np.arange(zf.size)
        residual = np.full(zf.size, np.inf)

        for _ in range(max_iter):
            w, za = omega[active], zf[active]
            g = w - za - s2 * self.nu.resolvent_moment(w, 1)
            ok = np.abs(g) <= tol * (1 + np.abs(w))
            residual[active] = np.abs(g)
            done[active[ok]] = True
            keep = ~ok
            active, w, za, g = active[keep], w[keep], za[keep], g[keep]
            if active.size == 0:
                break

            # Newton where it is safe, the damped fixed-point step elsewhere
            newton = w - g / (1 - s2 * self.nu.resolvent_moment(w, 2))
            g_newton = newton - za - s2 * self.nu.resolvent_moment(newton, 1)
            accept = np.isfinite(newton) & (newton.imag > za.imag) & (np.abs(g_newton) < np.abs(g))
            omega[active] = np.where(accept, newton, w - damping * g)

        if not done.all():
            bad = np.flatnonzero(~done)
            worst = bad[np.argmax(residual[bad])]
            raise ConvergenceError(
                f"subordination fixed point did not converge at {bad.size} of {zf.size} points "
                f"after {max_iter} iterations (largest residual {residual[worst]:.2e} at "
                f"z = {zf[worst]:.6g}); raise max_iter, move z off the real axis (larger eta) "
                "or check that the law nu has finite resolvent moments there"
            )
        return omega.reshape(shape)

    def stieltjes(self, z: np.ndarray, **solver) -> np.ndarray:
        """Stieltjes transform ``m_mu(z) = m_nu(omega(z))`` for ``Im z > 0``."""
        return self.nu.resolvent_moment(self.subordination(z, **solver), 1)

    def density(self, x: np.ndarray, eta: float = 1e-9, **solver) -> np.ndarray:
        """Density ``Im m_mu(x + i eta) / pi`` at real ``x`` (per unit length, integrates to 1).

        ``eta`` is relative to ``sigma``; the default is far below any bin width, so the
        result is the density itself up to a Poisson smoothing of width ``eta sigma``.
        """
        x = np.asarray(x, dtype=float)
        m = self.stieltjes(x + 1j * eta * self.sigma, **solver)
        return np.clip(m.imag / np.pi, 0, None)

    # -- support, outliers, overlaps -------------------------------------------------------
    def h(self, u: np.ndarray) -> np.ndarray:
        """``h(u) = sigma^2 int dnu(s)/(s - u)^2`` at real u outside supp nu (``1 - F'(u)``)."""
        return self.sigma**2 * np.real(self.nu.resolvent_moment(np.asarray(u, dtype=float), 2))

    def inverse_subordination(self, u: np.ndarray) -> np.ndarray:
        """``F(u) = u - sigma^2 m_nu(u)`` at real u outside supp nu: the point omega maps to u."""
        u = np.asarray(u, dtype=float)
        return u - self.sigma**2 * np.real(self.nu.resolvent_moment(u, 1))

    def critical_points(self) -> np.ndarray:
        """Solutions of ``h(u) = 1`` outside supp nu, sorted; their F-images are the edges."""
        comp = _merged_components(np.asarray(self.nu.support(), dtype=float))
        s2 = self.sigma**2
        h = self.h

        # unbounded sides: h decreases from +inf to 0, and h(u) <= sigma^2 / dist(u)^2
        lo_out = np.array([comp[0, 0] - 2 * self.sigma, comp[-1, 1]])
        hi_out = np.array([comp[0, 0], comp[-1, 1] + 2 * self.sigma])
        outer = _bisect(lambda u: h(u) - 1, lo_out, hi_out, np.array([True, False]))

        # gaps of supp nu: h is convex and blows up at both ends; it dips below 1 or not
        lo, hi = comp[:-1, 1], comp[1:, 0]
        if lo.size == 0:
            return outer
        u_min = _bisect(
            lambda u: 2 * s2 * np.real(self.nu.resolvent_moment(u, 3)),
            lo,
            hi,
            np.ones(lo.size, dtype=bool),
        )
        open_gap = h(u_min) < 1
        lo, hi, u_min = lo[open_gap], hi[open_gap], u_min[open_gap]
        left = _bisect(lambda u: h(u) - 1, lo, u_min, np.zeros(lo.size, dtype=bool))
        right = _bisect(lambda u: h(u) - 1, u_min, hi, np.ones(lo.size, dtype=bool))
        return np.sort(np.concatenate([outer, left, right]))

    def edges(self) -> np.ndarray:
        """Support of mu as sorted intervals ``[[a_1, b_1], ..., [a_K, b_K]]`` (a K x 2 array)."""
        if self._edges is None:
            # LIMITATION: assumes h blows up at every boundary of supp nu, true for atoms and
            # uniform parts; a density vanishing at its edge would need the edge itself checked.
            self._edges = self.inverse_subordination(self.critical_points()).reshape(-1, 2)
        return self._edges

    def in_outlier_domain(self, theta: np.ndarray) -> np.ndarray:
        """True where ``theta`` lies in U: outside supp nu with ``h(theta) < 1``."""
        theta = np.atleast_1d(np.asarray(theta, dtype=float))
        comp = _merged_components(np.asarray(self.nu.support(), dtype=float))
        inside = np.any((theta[:, None] >= comp[:, 0]) & (theta[:, None] <= comp[:, 1]), axis=1)
        out = np.zeros(theta.shape, dtype=bool)
        out[~inside] = self.h(theta[~inside]) < 1
        return out

    def outliers(self, theta: np.ndarray) -> np.ndarray:
        """Limit outlier ``F(theta) = theta + sigma^2 G_nu(theta)`` per spike, NaN when none."""
        theta = np.atleast_1d(np.asarray(theta, dtype=float))
        good = self.in_outlier_domain(theta)
        out = np.full(theta.shape, np.nan)
        out[good] = self.inverse_subordination(theta[good])
        return out

    def overlaps(self, theta: np.ndarray) -> np.ndarray:
        """Limit squared overlap ``F'(theta) = 1 - h(theta)`` of outlier and spike eigenvectors.

        Zero where theta produces no outlier (the eigenvector delocalizes into the bulk).
        """
        theta = np.atleast_1d(np.asarray(theta, dtype=float))
        good = self.in_outlier_domain(theta)
        out = np.zeros(theta.shape)
        out[good] = 1 - self.h(theta[good])
        return out

    # -- distribution function -------------------------------------------------------------
    def cdf(self, x: np.ndarray, nodes: int = 2048) -> np.ndarray:
        """Distribution function ``mu((-inf, x])`` at real x (dimensionless, in [0, 1]).

        The density is integrated per support interval with the substitution
        ``x = a + (b - a)(1 - cos t)/2``, which removes the square-root edge singularities, so
        the trapezoid rule in t is accurate to about 1e-7 with the default nodes.
        """
        if self._cdf_table is None:
            xs, fs, total = [], [], 0.0
            t = np.linspace(0, np.pi, nodes)
            for a, b in self.edges():
                xi = a + (b - a) * (1 - np.cos(t)) / 2
                integrand = self.density(xi) * (b - a) / 2 * np.sin(t)
                steps = np.diff(t) * (integrand[1:] + integrand[:-1]) / 2
                xs.append(xi)
                fs.append(total + np.r_[0, np.cumsum(steps)])
                total = fs[-1][-1]
            self._cdf_table = (np.concatenate(xs), np.concatenate(fs))
            log.debug("deformed semicircle mass on its support: %.8f", total)
        grid, values = self._cdf_table
        return np.interp(np.asarray(x, dtype=float), grid, values, left=0.0, right=values[-1])

    def total_mass(self) -> float:
        """Mass of the density on the computed support (1 up to quadrature error)."""
        self.cdf(np.zeros(1))
        return float(self._cdf_table[1][-1])


def semicircle_outlier(theta: np.ndarray, sigma: float) -> np.ndarray:
    """Finite-rank outlier ``theta + sigma^2 / theta`` for ``|theta| > sigma``, NaN below."""
    theta = np.asarray(theta, dtype=float)
    with np.errstate(divide="ignore"):
        return np.where(np.abs(theta) > sigma, theta + sigma**2 / theta, np.nan)


def semicircle_overlap(theta: np.ndarray, sigma: float) -> np.ndarray:
    """Finite-rank squared eigenvector overlap ``1 - sigma^2 / theta^2`` (0 below threshold)."""
    theta = np.asarray(theta, dtype=float)
    with np.errstate(divide="ignore"):
        return np.where(np.abs(theta) > sigma, 1 - sigma**2 / theta**2, 0.0)
