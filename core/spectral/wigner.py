"""Deformed Wigner matrices ``H = W + S``: sampling W, building S from a perturbation, spectra.

W is real symmetric with independent entries above the diagonal of variance ``sigma^2 / N``
(Gaussian: the GOE, diagonal variance ``2 sigma^2 / N``; Rademacher: entries
``+-sigma/sqrt(N)``, diagonal included), so its spectrum fills ``[-2 sigma, 2 sigma]``.
S is diagonal with eigenvalues placed at the quantiles of the perturbation's law nu, plus
isolated spikes; W is invariant in law under signed permutations only (not under rotations,
except for the GOE), which the theory does not need: the limit law and the outliers hold for
deterministic S.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import scipy.linalg
from tqdm.auto import tqdm

from core.errors import ConfigError
from core.spectral.free import Mixture, PointMasses, SpectralLaw, Uniform

log = logging.getLogger(__name__)

Entries = Literal["gaussian", "rademacher"]

# the stack of matrices diagonalized at once is kept under this many float64 entries (256 MB)
_BATCH_ENTRIES = 32_000_000


@dataclass
class Perturbation:
    """The deterministic part S of ``H = W + S`` (the ``perturbation`` config group).

    ``kind`` selects the bulk law nu of the eigenvalues of S:
    ``spikes`` nu = delta_0 (S has finite rank, its nonzero eigenvalues are ``spikes``);
    ``two_point`` half the eigenvalues at ``-b``, half at ``+b`` (full rank);
    ``uniform`` eigenvalues uniform on ``[low, high]`` (full rank);
    ``growing`` rank ``r = fraction * N`` with eigenvalues uniform on ``[low, high]``, the rest 0.
    ``spikes`` are isolated eigenvalues of S added on top of the bulk, for every kind.
    """

    kind: Literal["spikes", "two_point", "uniform", "growing"] = "spikes"
    spikes: list[float] = field(default_factory=list)
    b: float = 1.5
    low: float = 1.0
    high: float = 2.0
    fraction: float = 0.25

    def law(self) -> SpectralLaw:
        """The limit spectral law nu of S (spikes carry weight 1/N and drop out)."""
        if self.kind == "spikes":
            return PointMasses(np.zeros(1))
        if self.kind == "two_point":
            return PointMasses(np.array([-self.b, self.b]))
        if self.kind == "uniform":
            return Uniform(self.low, self.high)
        if not 0 < self.fraction <= 1:
            raise ConfigError(f"perturbation.fraction must be in (0, 1], got {self.fraction}")
        if self.fraction == 1:
            return Uniform(self.low, self.high)
        return Mixture(
            (PointMasses(np.zeros(1)), Uniform(self.low, self.high)),
            (1 - self.fraction, self.fraction),
        )

    def eigenvalues(self, n: int) -> np.ndarray:
        """The n eigenvalues of S, sorted: the bulk at midpoint quantiles of nu, then spikes."""
        spikes = np.asarray(self.spikes, dtype=float)
        n_bulk = n - spikes.size
        if n_bulk < 1:
            raise ConfigError(f"N={n} leaves no room for {spikes.size} spikes; raise N")
        u = (np.arange(n_bulk) + 0.5) / n_bulk
        if self.kind == "spikes":
            bulk = np.zeros(n_bulk)
        elif self.kind == "two_point":
            bulk = np.where(u < 0.5, -self.b, self.b)
        elif self.kind == "uniform":
            bulk = self.low + (self.high - self.low) * u
        else:
            r = int(round(self.fraction * n_bulk))
            v = (np.arange(r) + 0.5) / max(r, 1)
            bulk = np.r_[np.zeros(n_bulk - r), self.low + (self.high - self.low) * v]
        return np.sort(np.r_[bulk, spikes])


def wigner_matrices(
    n: int, samples: int, sigma: float, entries: Entries, rng: np.random.Generator
) -> np.ndarray:
    """A stack ``(samples, n, n)`` of real symmetric Wigner matrices, entry variance sigma^2/n."""
    scale = sigma / np.sqrt(n)
    if entries == "gaussian":
        x = rng.standard_normal((samples, n, n))
        return (x + np.swapaxes(x, 1, 2)) * (scale / np.sqrt(2))
    if entries == "rademacher":
        upper = np.triu(rng.choice(np.array([-scale, scale]), size=(samples, n, n)))
        return upper + np.swapaxes(np.triu(upper, 1), 1, 2)
    raise ConfigError(f"entries={entries!r} is not one of ['gaussian', 'rademacher']")


def deformed_wigner_spectra(
    s_eigenvalues: np.ndarray,
    samples: int,
    sigma: float,
    entries: Entries,
    rng: np.random.Generator,
    vectors_at: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Eigenvalues of ``samples`` independent ``W + diag(s_eigenvalues)``, batched.

    Returns the sorted eigenvalues as a ``(samples, n)`` array and, when ``vectors_at`` lists
    eigenvalue indices, the squared overlaps ``|<v_i, e_{spike}>|^2`` as ``(samples, k)``:
    eigenvector of index ``vectors_at[j]`` against the coordinate vector ``e_{vectors_at[j]}``
    (S is diagonal with sorted eigenvalues, so index j of S is its j-th smallest eigenvalue).
    """
    s_eigenvalues = np.asarray(s_eigenvalues, dtype=float)
    n = s_eigenvalues.size
    batch = max(1, _BATCH_ENTRIES // (n * n))
    eigs = np.empty((samples, n))
    overlaps = None if vectors_at is None else np.empty((samples, len(vectors_at)))
    diag = np.arange(n)
    with tqdm(total=samples, desc=f"eigenvalues N={n}", leave=False, disable=samples < 4) as bar:
        for start in range(0, samples, batch):
            stop = min(samples, start + batch)
            h = wigner_matrices(n, stop - start, sigma, entries, rng)
            h[:, diag, diag] += s_eigenvalues
            if vectors_at is None:
                eigs[start:stop] = np.linalg.eigvalsh(h)
            else:
                idx = np.asarray(vectors_at, dtype=int)
                vals, vecs = np.linalg.eigh(h)
                eigs[start:stop] = vals
                overlaps[start:stop] = vecs[:, idx, idx] ** 2
            bar.update(stop - start)
    return eigs, overlaps


def top_eigenpairs(
    s_eigenvalues: np.ndarray,
    samples: int,
    sigma: float,
    entries: Entries,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Largest eigenvalue of ``W + diag(s)`` and its squared overlap with the last coordinate.

    Returns two arrays of length ``samples``. With ``s`` sorted, the last coordinate is the
    eigenvector of the largest eigenvalue of S. Only the top eigenpair is computed (LAPACK
    MRRR), a few times cheaper than the full eigendecomposition.
    """
    s_eigenvalues = np.asarray(s_eigenvalues, dtype=float)
    n = s_eigenvalues.size
    top, overlap = np.empty(samples), np.empty(samples)
    diag = np.arange(n)
    for k in range(samples):
        h = wigner_matrices(n, 1, sigma, entries, rng)[0]
        h[diag, diag] += s_eigenvalues
        vals, vecs = scipy.linalg.eigh(h, subset_by_index=[n - 1, n - 1], driver="evr")
        top[k], overlap[k] = vals[0], vecs[-1, 0] ** 2
    return top, overlap
