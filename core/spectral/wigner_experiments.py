"""Experiments of the spectra family: deformed Wigner spectra against free-probability laws.

``deformed_wigner``: pooled eigenvalues of ``W + S`` against ``sc_sigma boxplus nu`` (density,
support edges, outliers) for one or more N. ``outlier_phase``: the top eigenvalue and its
eigenvector overlap against the spike strength theta, across the threshold, for a rank-one S
and for a spike on top of a growing-rank S.

Errors (all computed on the same matrices, with the prediction at N = infinity):

- ``density/sup_err``: Kolmogorov distance ``sup_x |F_N(x) - F_mu(x)|`` between the empirical
  CDF of the pooled bulk eigenvalues (spike indices removed) and the predicted CDF of mu;
  dimensionless, in [0, 1].
- ``density/l1_err``: ``sum_bins |n_b / n - mu(bin_b)|`` over the histogram bins, i.e. the L1
  distance between the histogram density and the bin-averaged predicted density; in [0, 2].
- ``edges/max_abs_err``: largest ``|mean_samples(empirical edge) - predicted edge|`` over the
  edges of supp mu, empirical edges being the extreme bulk eigenvalues of each component.
- ``outliers/max_abs_err``: largest ``|mean_samples(lambda_{i(theta)}) - F(theta)|`` over the
  spikes that produce an outlier, ``i(theta)`` being the index of theta among the sorted
  eigenvalues of S (subordination preserves order, so the outlier has the same index in H).
"""

from __future__ import annotations

import logging

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402

from core.errors import ConfigError  # noqa: E402
from core.spectral.free import DeformedSemicircle, semicircle_outlier  # noqa: E402
from core.spectral.wigner import (  # noqa: E402
    Entries,
    Perturbation,
    deformed_wigner_spectra,
    top_eigenpairs,
)
from core.tracking import Tracker  # noqa: E402

log = logging.getLogger(__name__)


def spike_indices(s_eigenvalues: np.ndarray, spikes: np.ndarray) -> np.ndarray:
    """Index of each spike among the sorted eigenvalues of S (ties resolved left to right)."""
    idx = np.searchsorted(s_eigenvalues, spikes, side="left")
    # equal spikes occupy consecutive slots
    order = np.argsort(spikes, kind="stable")
    ranks = np.empty_like(order)
    ranks[order] = np.arange(order.size)
    first = np.searchsorted(np.sort(spikes), spikes, side="left")
    return idx + (ranks - first)


def kolmogorov_distance(samples: np.ndarray, cdf) -> float:
    """``sup_x |F_n(x) - F(x)|`` for the empirical CDF of ``samples`` and a CDF callable."""
    x = np.sort(np.ravel(samples))
    f = cdf(x)
    n = x.size
    upper = np.arange(1, n + 1) / n
    return float(max(np.max(np.abs(upper - f)), np.max(np.abs(upper - 1 / n - f))))


def binned_l1_distance(samples: np.ndarray, cdf, bin_edges: np.ndarray) -> float:
    """``sum_b |n_b/n - (F(e_{b+1}) - F(e_b))|``: L1 distance of histogram and binned law."""
    x = np.ravel(samples)
    counts, _ = np.histogram(x, bin_edges)
    mass = np.diff(cdf(bin_edges))
    outside = 1 - counts.sum() / x.size + (1 - mass.sum())
    return float(np.abs(counts / x.size - mass).sum() + abs(outside))


def empirical_edges(bulk: np.ndarray, support: np.ndarray) -> np.ndarray:
    """Per sample, the extreme eigenvalues of each predicted support component, ``(s, K, 2)``.

    Eigenvalues are assigned to components by the midpoints of the predicted gaps.
    """
    cuts = (support[1:, 0] + support[:-1, 1]) / 2
    cell = np.searchsorted(cuts, bulk)
    out = np.empty((bulk.shape[0], support.shape[0], 2))
    for k in range(support.shape[0]):
        inside = cell == k
        out[:, k, 0] = np.where(inside, bulk, np.inf).min(axis=1)
        out[:, k, 1] = np.where(inside, bulk, -np.inf).max(axis=1)
    return out


def _errors_at(
    n: int,
    law: DeformedSemicircle,
    perturbation: Perturbation,
    samples: int,
    sigma: float,
    entries: Entries,
    bin_edges: np.ndarray,
    rng: np.random.Generator,
) -> tuple[dict, np.ndarray, np.ndarray]:
    """All errors at one size N; also returns the bulk eigenvalues and the outlier samples."""
    s = perturbation.eigenvalues(n)
    spikes = np.asarray(perturbation.spikes, dtype=float)
    idx = spike_indices(s, spikes)
    eigs, _ = deformed_wigner_spectra(s, samples, sigma, entries, rng)
    bulk = np.delete(eigs, idx, axis=1)

    support = law.edges()
    edges_emp = empirical_edges(bulk, support).mean(axis=0)
    predicted = law.outliers(spikes)
    has = ~np.isnan(predicted)
    found = eigs[:, idx]
    outlier_err = np.abs(found[:, has].mean(axis=0) - predicted[has])

    # spikes outside supp nu below the threshold must stick to the bulk
    stuck = ~has & ~law_contains(law, spikes)
    dist = support_distance(found[:, stuck], support) if stuck.any() else np.zeros((1, 1))

    row = {
        "N": n,
        "density/sup_err": kolmogorov_distance(bulk, law.cdf),
        "density/l1_err": binned_l1_distance(bulk, law.cdf, bin_edges),
        "edges/max_abs_err": float(np.max(np.abs(edges_emp - support))),
        "outliers/max_abs_err": float(outlier_err.max()) if has.any() else 0.0,
        "outliers/max_std": float(found[:, has].std(axis=0).max()) if has.any() else 0.0,
        "outliers/count": int(has.sum()),
        "outliers/stuck_max_dist": float(dist.max()),
    }
    return row, bulk, found


def law_contains(law: DeformedSemicircle, theta: np.ndarray) -> np.ndarray:
    """True where theta lies in the support of nu (such a spike merges with the bulk of S)."""
    comp = np.asarray(law.nu.support())
    t = np.asarray(theta, dtype=float)[:, None]
    return np.any((t >= comp[:, 0] - 1e-12) & (t <= comp[:, 1] + 1e-12), axis=1)


def support_distance(x: np.ndarray, support: np.ndarray) -> np.ndarray:
    """Distance of each x to the union of the intervals ``support`` (0 inside)."""
    x = np.asarray(x, dtype=float)[..., None]
    d = np.maximum(support[:, 0] - x, x - support[:, 1]).clip(min=0)
    return d.min(axis=-1)


def deformed_wigner(
    *,
    N: int | list[int],
    samples: int,
    sigma: float,
    perturbation: Perturbation,
    entries: Entries = "gaussian",
    bins: int = 80,
    seed: int = 0,
    tracker: Tracker,
) -> dict[str, float]:
    """Eigenvalues of ``W + S`` against ``sc_sigma boxplus nu`` for each N (see module doc).

    Returns the errors at the largest N (keys ``density/*``, ``edges/*``, ``outliers/*``) and,
    with several N, the log-log slopes ``*/rate`` of the errors against N.
    """
    sizes = sorted({N} if isinstance(N, int) else set(N))
    if not sizes or min(sizes) < 2 or samples < 1:
        raise ConfigError("N needs sizes >= 2 (an int or a list like [250,500]) and samples >= 1")
    law = DeformedSemicircle(perturbation.law(), sigma)
    support = law.edges()
    spikes = np.asarray(perturbation.spikes, dtype=float)
    predicted = law.outliers(spikes)
    log.info(
        "deformed Wigner, perturbation %s, sigma %g: support %s, outliers %s",
        perturbation.kind,
        sigma,
        np.round(support, 4).tolist(),
        np.round(predicted, 4).tolist(),
    )

    # bins span the bulk with a margin of one bin on both sides
    width = (support[-1, 1] - support[0, 0]) / (bins - 2)
    bin_edges = np.linspace(support[0, 0] - width, support[-1, 1] + width, bins + 1)
    rng = np.random.default_rng(seed)
    rows = []
    for n in sizes:
        row, bulk, found = _errors_at(
            n, law, perturbation, samples, sigma, entries, bin_edges, rng
        )
        rows.append(row)
        tracker.log({k: v for k, v in row.items() if k != "N"}, step=n)
        log.info(
            "N=%d: sup_err %.4f, l1_err %.4f, edges %.4f, outliers %.4f",
            n,
            row["density/sup_err"],
            row["density/l1_err"],
            row["edges/max_abs_err"],
            row["outliers/max_abs_err"],
        )

    tracker.table("finite_size", rows)
    _plot_density(tracker, law, bulk, found, spikes, predicted, bin_edges, sizes[-1])
    result = {k: v for k, v in rows[-1].items() if k != "N"}
    result["N"] = sizes[-1]
    if len(sizes) > 1:
        _plot_finite_size(tracker, rows)
        for key in ("density/sup_err", "density/l1_err", "edges/max_abs_err"):
            errs = np.array([r[key] for r in rows])
            if np.all(errs > 0):
                slope = np.polyfit(np.log(sizes), np.log(errs), 1)[0]
                result[key.replace("_err", "_rate")] = float(slope)
    return result


def _plot_density(tracker, law, bulk, found, spikes, predicted, bin_edges, n) -> None:
    """Histogram of the pooled bulk eigenvalues on the predicted density, outliers marked."""
    hist, _ = np.histogram(bulk, bin_edges, density=True)
    mass = np.diff(law.cdf(bin_edges)) / np.diff(bin_edges)
    lo = min(bin_edges[0], np.nanmin(np.r_[predicted, bin_edges[0]]) - 0.3)
    hi = max(bin_edges[-1], np.nanmax(np.r_[predicted, bin_edges[-1]]) + 0.3)
    x = np.linspace(lo, hi, 2000)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.stairs(hist, bin_edges, fill=True, alpha=0.35, label=f"eigenvalues, N={n}")
    ax.plot(x, law.density(x), "k", lw=1.2, label=r"$\mu_{sc}\boxplus\nu$ (subordination)")
    for j, p in enumerate(predicted[~np.isnan(predicted)]):
        ax.axvline(p, color="C3", ls="--", lw=0.8, label="predicted outliers" if j == 0 else None)
    ax.plot(found.ravel(), np.zeros(found.size), "|", color="C3", ms=12, label="eigenvalue i(θ)")
    ax.set_xlabel("eigenvalue")
    ax.set_ylabel("density")
    ax.legend(fontsize=8, loc="upper left")
    centers = (bin_edges[1:] + bin_edges[:-1]) / 2
    rows = [
        {"x": float(c), "empirical": float(h), "predicted": float(m)}
        for c, h, m in zip(centers, hist, mass, strict=True)
    ]
    tracker.figure("density", fig, rows)


def _plot_finite_size(tracker, rows) -> None:
    """Log-log errors against N."""
    sizes = [r["N"] for r in rows]
    fig, ax = plt.subplots(figsize=(5, 4))
    for key in ("density/sup_err", "density/l1_err", "edges/max_abs_err", "outliers/max_abs_err"):
        ax.loglog(sizes, [max(r[key], 1e-8) for r in rows], "o-", label=key)
    ax.loglog(sizes, [rows[0]["density/sup_err"] * sizes[0] / n for n in sizes], "k:", label="1/N")
    # edges fluctuate on the Tracy-Widom scale N^(-2/3)
    edge0 = rows[0]["edges/max_abs_err"]
    ax.loglog(sizes, [edge0 * (sizes[0] / n) ** (2 / 3) for n in sizes], "k--", label="N^(-2/3)")
    ax.set_xticks(sizes, [str(n) for n in sizes])
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("N")
    ax.set_ylabel("error")
    ax.legend(fontsize=8)
    tracker.figure("finite_size", fig, rows)


def outlier_phase(
    *,
    N: int,
    samples: int,
    sigma: float,
    thetas: list[float],
    growing: Perturbation,
    entries: Entries = "gaussian",
    seed: int = 0,
    tracker: Tracker,
) -> dict[str, float]:
    """Top eigenvalue and its squared eigenvector overlap against the spike theta.

    Two cases on the same theta grid: rank one (``S = theta e e^T``, threshold sigma) and
    ``growing`` with one spike theta added on top (threshold where ``h(theta) = 1``). Returns
    the largest ``|mean top eigenvalue - prediction|`` and ``|mean overlap - prediction|``
    over theta for each case, the prediction being F(theta) above the threshold and the
    right edge of supp mu below.
    """
    if growing.spikes:
        raise ConfigError("outlier_phase adds the spike theta itself; leave growing.spikes empty")
    cases = {"rank_one": Perturbation(kind="spikes"), "growing": growing}
    rng = np.random.default_rng(seed)
    result, rows = {}, []
    fig, axes = plt.subplots(2, 2, figsize=(10, 7), sharex=True)
    grid = np.linspace(min(thetas), max(thetas), 400)
    for col, (case, base) in enumerate(cases.items()):
        law = DeformedSemicircle(base.law(), sigma)
        edge = law.edges()[-1, 1]
        curve = np.where(np.isnan(law.outliers(grid)), edge, law.outliers(grid))
        top, overlap = [], []
        for theta in thetas:
            spiked = Perturbation(**{**base.__dict__, "spikes": [theta]})
            s = spiked.eigenvalues(N)
            i = spike_indices(s, np.array([theta]))
            lam, ov = top_eigenpairs(s, samples, sigma, entries, rng)
            top.append(lam.mean())
            # the overlap with the spike direction is only read off when theta is the top of S
            overlap.append(ov.mean() if i[0] == N - 1 else np.nan)
        top, overlap = np.array(top), np.array(overlap)
        th = np.asarray(thetas, dtype=float)
        pred = np.where(np.isnan(law.outliers(th)), edge, law.outliers(th))
        pred_ov = law.overlaps(th)
        result[f"phase/{case}_max_abs_err"] = float(np.max(np.abs(top - pred)))
        result[f"phase/{case}_overlap_max_abs_err"] = float(np.nanmax(np.abs(overlap - pred_ov)))
        threshold = law.critical_points()[-1]
        result[f"phase/{case}_threshold"] = float(threshold)
        rows += [
            {"case": case, "theta": t, "top": a, "predicted": p, "overlap": o, "overlap_pred": q}
            for t, a, p, o, q in zip(th, top, pred, overlap, pred_ov, strict=True)
        ]

        ax = axes[0, col]
        ax.plot(grid, curve, "k", lw=1.2, label="prediction")
        ax.plot(th, top, "o", color="C0", ms=4, label=f"mean top eigenvalue, N={N}")
        ax.axvline(threshold, color="gray", ls=":", lw=1, label=f"threshold {threshold:.3g}")
        ax.set_title(case.replace("_", " "))
        ax.set_ylabel("top eigenvalue")
        ax.legend(fontsize=8)
        ax = axes[1, col]
        ax.plot(grid, law.overlaps(grid), "k", lw=1.2, label=r"$1 - h(\theta)$")
        ax.plot(th, overlap, "o", color="C1", ms=4, label=r"mean $|\langle v, e\rangle|^2$")
        ax.axvline(threshold, color="gray", ls=":", lw=1)
        ax.set_xlabel(r"spike $\theta$")
        ax.set_ylabel("squared overlap")
        ax.legend(fontsize=8)
    if np.isclose(sigma, 1.0):
        # the rank-one curve is the textbook theta + 1/theta: a cross-check of the solver
        ref = semicircle_outlier(grid, sigma)
        axes[0, 0].plot(grid, ref, "C3:", lw=1, label=r"$\theta + \sigma^2/\theta$")
        axes[0, 0].legend(fontsize=8)
    tracker.figure("phase", fig, rows)
    log.info("outlier phase: %s", {k: round(v, 4) for k, v in result.items()})
    return result
