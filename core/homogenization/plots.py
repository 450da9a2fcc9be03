"""Figures of the homogenization studies (matplotlib, Agg backend)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402


def coefficient_figure(values: np.ndarray, title: str) -> plt.Figure:
    """Image of ``log10 a`` sampled on a square grid (values indexed [ix, iy])."""
    fig, ax = plt.subplots(figsize=(4.2, 3.6))
    im = ax.imshow(np.log10(values).T, origin="lower", extent=(0, 1, 0, 1), cmap="viridis")
    fig.colorbar(im, ax=ax, label="log10 a")
    ax.set_title(title, fontsize=9)
    return fig


def loglog_figure(
    rows: Sequence[Mapping[str, Any]],
    x: str,
    y: str,
    group: str,
    xlabel: str,
    ylabel: str,
    invert_x: bool = False,
    reference_slope: float | None = None,
) -> plt.Figure:
    """Log-log lines of ``y`` against ``x``, one per value of ``group``."""
    fig, ax = plt.subplots(figsize=(5, 3.8))
    for name in dict.fromkeys(r[group] for r in rows):
        pts = sorted((float(r[x]), float(r[y])) for r in rows if r[group] == name)
        ax.loglog(*zip(*pts, strict=True), "o-", label=str(name))
    if reference_slope is not None:
        xs = np.array(sorted({float(r[x]) for r in rows}))
        y0 = min(float(r[y]) for r in rows if float(r[x]) == xs[-1])
        ax.loglog(
            xs,
            y0 * (xs / xs[-1]) ** reference_slope,
            "k--",
            lw=0.8,
            label=f"slope {reference_slope:g}",
        )
    # label the measured x values plainly (4, 8, 16, 32) instead of 4x10^0, 6x10^0
    ticks = sorted({float(r[x]) for r in rows})
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    if invert_x:
        ax.invert_xaxis()
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def semilogy_figure(
    rows: Sequence[Mapping[str, Any]], x: str, y: str, group: str, xlabel: str, ylabel: str
) -> plt.Figure:
    """Lines of ``y`` (log scale) against ``x`` (linear), one per value of ``group``."""
    fig, ax = plt.subplots(figsize=(5, 3.8))
    for name in dict.fromkeys(r[group] for r in rows):
        pts = sorted((float(r[x]), float(r[y])) for r in rows if r[group] == name)
        ax.semilogy(*zip(*pts, strict=True), "o-", label=str(name))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return fig
