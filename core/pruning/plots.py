"""Figures of the pruning family; each takes plain rows/arrays and returns a figure."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from core.spectral.mp import MPFit, mp_pdf  # noqa: E402


def esd_axes(ax, s: np.ndarray, fit: MPFit, title: str) -> None:
    """Histogram of ``lam = s^2 / N`` with the fitted MP density and edge on one axis."""
    n_big = max(fit.m, fit.n)
    lam = s[s > 0] ** 2 / n_big
    sigma2 = fit.sigma_hat**2
    top = 1.6 * fit.lambda_plus if fit.lambda_plus > 0 else lam.max()
    heights, _, _ = ax.hist(
        lam[lam <= top], bins=60, density=True, color="0.75", label="empirical"
    )
    xs = np.linspace(1e-9, top, 400)
    # the histogram shows only the nonzero values; rescale the law to the same mass
    mass = lam.size / min(fit.m, fit.n)
    ax.plot(xs, mp_pdf(xs, fit.gamma, sigma2) / mass, "C0", lw=1.5, label="fitted MP")
    ax.axvline(fit.lambda_plus, color="C3", ls="--", lw=1, label=r"$\lambda_+$")
    # for gamma = 1 the law diverges at 0: scale the axis to the histogram, not the curve
    ax.set_ylim(0, 1.3 * heights.max())
    # spikes past the plotted range are listed, the others drawn as ticks on the axis
    spikes = np.sort(lam[lam > fit.lambda_plus])[::-1]
    shown = spikes[spikes <= top]
    ax.plot(shown, np.zeros_like(shown), "|", color="C3", ms=14, mew=1.5)
    beyond = spikes[spikes > top]
    if beyond.size:
        listed = ", ".join(f"{v:.3g}" for v in beyond[:4]) + (" ..." if beyond.size > 4 else "")
        ax.text(
            0.98,
            0.9,
            f"{beyond.size} beyond the axis:\n" + r"$\lambda$ = " + listed,
            transform=ax.transAxes,
            ha="right",
            va="top",
            fontsize=7,
            color="C3",
        )
    ax.set_title(f"{title}: {fit.spikes} spikes beyond the edge", fontsize=9)
    ax.set_xlabel(r"$\lambda = s^2/N$")


def esd_figure(panels: list[tuple[str, np.ndarray, MPFit]], ncols: int = 2):
    """Grid of ESD panels ``(title, singular values, fit)``."""
    nrows = int(np.ceil(len(panels) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(5 * ncols, 3.2 * nrows), squeeze=False)
    for ax, (title, s, fit) in zip(axes.flat, panels, strict=False):
        esd_axes(ax, s, fit, title)
    for ax in axes.flat[len(panels) :]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=8, loc="upper center")
    fig.tight_layout()
    return fig


def accuracy_figure(rows: list[dict]):
    """Test (solid) and train (dashed) accuracy per epoch for each method."""
    fig, ax = plt.subplots(figsize=(6, 4))
    methods = list(dict.fromkeys(r["method"] for r in rows))
    for i, method in enumerate(methods):
        mine = [r for r in rows if r["method"] == method]
        epochs = [r["epoch"] for r in mine]
        ax.plot(epochs, [r["test_acc"] for r in mine], f"C{i}-", label=f"{method} test")
        ax.plot(epochs, [r["train_acc"] for r in mine], f"C{i}--", lw=0.8)
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy (dashed: train)")
    ax.set_ylim(bottom=max(0.0, min(r["test_acc"] for r in rows if r["epoch"] > 0) - 0.05))
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def rank_figure(rows: list[dict]):
    """Rank of each pruned layer over epochs, one line per (method, layer)."""
    fig, ax = plt.subplots(figsize=(6, 4))
    keys = list(dict.fromkeys((r["method"], r["layer"]) for r in rows))
    for method, layer in keys:
        mine = [r for r in rows if r["method"] == method and r["layer"] == layer]
        style = "-o" if method == "mp" else "--s"
        ax.plot(
            [r["epoch"] for r in mine],
            [r["rank"] for r in mine],
            style,
            ms=3,
            label=f"{method} {layer}",
        )
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("rank")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
