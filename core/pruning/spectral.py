"""Spectral pruning of dense layers (REFERENCE.md 2.3, first bullet) and its baselines.

Every ``every`` epochs each eligible layer is decomposed ``W = U S V^T``, the MP bulk is
fitted to what is left, every singular value above ``sigma_plus`` is kept together with a
fraction ``f(epoch)`` of the bulk, and the layer becomes two thin layers once that saves
parameters. ``f`` decays linearly from ``keep_start`` at ``start_epoch`` to 0 at
``end_epoch``; after that the ranks stay fixed and training goes on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch

from core.config import require
from core.spectral.mp import (
    MPFit,
    check_fit_options,
    fit_mp_bulk,
    gavish_donoho_threshold,
)
from core.training.models import DenseNet, SpectralLinear

log = logging.getLogger(__name__)


@dataclass
class PruningConfig:
    """When and how much to prune."""

    # prune after every this many epochs, from start_epoch to end_epoch (inclusive)
    every: int = 2
    start_epoch: int = 2
    # the epoch at which the kept bulk fraction reaches 0; null = two thirds of train.epochs
    end_epoch: int | None = None
    # fraction of the bulk (values below sigma_plus) kept at start_epoch
    keep_start: float = 0.5
    # layers whose smaller side is below this are left alone (MP needs large matrices)
    min_dim: int = 50
    # central quantile window [alpha p, (1 - alpha) p] of the bulk fit
    alpha: float = 0.25
    # Tracy-Widom level of the edge margin: 0.9, 0.95 or 0.99
    tw_level: float = 0.95

    def __post_init__(self) -> None:
        require(self.every >= 1, f"pruning.every must be >= 1, got {self.every}")
        require(self.start_epoch >= 1, f"pruning.start_epoch must be >= 1, got {self.start_epoch}")
        require(
            0 <= self.keep_start <= 1,
            f"pruning.keep_start must be in [0, 1], got {self.keep_start}",
        )
        require(self.min_dim >= 2, f"pruning.min_dim must be >= 2, got {self.min_dim}")
        check_fit_options(self.alpha, self.tw_level, "pruning.")


def end_epoch(cfg: PruningConfig, epochs: int) -> int:
    """The epoch at which f reaches 0 (``cfg.end_epoch`` or two thirds of the run)."""
    return cfg.end_epoch if cfg.end_epoch is not None else max(1, (2 * epochs) // 3)


def keep_fraction(epoch: int, cfg: PruningConfig, epochs: int) -> float:
    """f(epoch): ``keep_start`` at ``start_epoch`` decaying linearly to 0 at the end epoch."""
    stop = end_epoch(cfg, epochs)
    if stop <= cfg.start_epoch:
        return 0.0
    return float(cfg.keep_start * np.clip((stop - epoch) / (stop - cfg.start_epoch), 0.0, 1.0))


def is_prune_epoch(epoch: int, cfg: PruningConfig, epochs: int) -> bool:
    """True on the epochs at which the schedule prunes."""
    stop = end_epoch(cfg, epochs)
    return cfg.start_epoch <= epoch <= stop and (epoch - cfg.start_epoch) % cfg.every == 0


def eligible_layers(model: DenseNet, cfg: PruningConfig) -> list[tuple[str, SpectralLinear]]:
    """Layers large enough for an MP fit (the smaller side at least ``min_dim``)."""
    return [(n, layer) for n, layer in model.named_weights() if min(layer.shape) >= cfg.min_dim]


def fit_layer(s: torch.Tensor, layer: SpectralLinear, cfg: PruningConfig) -> MPFit:
    """MP bulk fit of a layer from its singular values (zeros of a truncation are missing)."""
    m, n = layer.shape
    return fit_mp_bulk(s.double().numpy(), m, n, alpha=cfg.alpha, tw_level=cfg.tw_level)


# singular values below this fraction of the largest are round-off zeros (float32 weights)
ZERO_TOL = 1e-5


def numerical_rank(s: torch.Tensor | np.ndarray) -> int:
    """Number of singular values above ``ZERO_TOL`` times the largest."""
    s = torch.as_tensor(s)
    return int((s > ZERO_TOL * s.max()).sum()) if s.numel() else 0


def mp_rank(s: torch.Tensor, fit: MPFit, fraction: float) -> int:
    """Rank kept by the MP rule: all values above ``sigma_plus`` and ``fraction`` of the bulk.

    The fraction is of the full bulk ``p - spikes``, not of what is left, so the kept rank
    never grows and repeated pruning at the same f changes nothing.
    """
    p = s.numel()
    alive = numerical_rank(s)
    bulk_kept = min(alive - fit.spikes, round(fraction * (p - fit.spikes)))
    return max(1, fit.spikes + max(0, bulk_kept))


@torch.no_grad()
def truncate(layer: SpectralLinear, u: torch.Tensor, s: torch.Tensor, vh: torch.Tensor, r: int):
    """Keep the top ``r`` singular triplets of the layer (factored when that is smaller)."""
    layer.set_low_rank(u[:, :r].clone(), s[:r].clone(), vh[:r].clone())


def fit_stats(s: torch.Tensor | np.ndarray, fit: MPFit) -> dict:
    """Numbers to log for one spectrum: noise level, edge, spikes, rank and fit quality."""
    return {
        "sigma_hat": fit.sigma_hat,
        "sigma_plus": fit.sigma_plus,
        "spikes": fit.spikes,
        "rank": numerical_rank(s),
        "gof": fit.gof,
    }


def layer_stats(layer: SpectralLinear, s: torch.Tensor, fit: MPFit) -> dict:
    """:func:`fit_stats` plus the layer's stored weight count ``params``."""
    return {**fit_stats(s, fit), "params": layer.weight_params()}


def kept_spectrum(s: torch.Tensor, r: int) -> torch.Tensor:
    """The singular values left after keeping the top ``r``: the rest set to exact zeros."""
    return torch.cat([s[:r], s.new_zeros(s.numel() - r)])


def mp_prune(model: DenseNet, cfg: PruningConfig, fraction: float) -> dict[str, dict]:
    """Apply the MP rule with bulk fraction ``fraction`` to every eligible layer.

    Returns per-layer stats after pruning (``sigma_hat`` etc. are those of the fit before).
    """
    stats = {}
    for name, layer in eligible_layers(model, cfg):
        u, s, vh = layer.svd()
        fit = fit_layer(s, layer, cfg)
        r = mp_rank(s, fit, fraction)
        if r < numerical_rank(s):
            truncate(layer, u, s, vh, r)
        stats[name] = layer_stats(layer, kept_spectrum(s, r), fit)
    return stats


def gd_prune(model: DenseNet, cfg: PruningConfig) -> dict[str, dict]:
    """Truncate every eligible layer to the Gavish-Donoho rank (unknown noise level)."""
    stats = {}
    for name, layer in eligible_layers(model, cfg):
        u, s, vh = layer.svd()
        m, n = layer.shape
        tau = gavish_donoho_threshold(s.double().numpy(), m, n)
        r = max(1, int((s > tau).sum()))
        truncate(layer, u, s, vh, r)
        fit = fit_layer(s, layer, cfg)
        stats[name] = layer_stats(layer, kept_spectrum(s, r), fit)
    return stats


@torch.no_grad()
def magnitude_prune(model: DenseNet, budgets: dict[str, int]) -> dict[str, dict]:
    """Keep the ``budgets[name]`` largest-magnitude weights of each named layer (unstructured)."""
    stats = {}
    for name, layer in model.named_weights():
        if name not in budgets:
            continue
        w = layer.effective_weight().abs().flatten()
        k = int(min(budgets[name], int((w > 0).sum())))
        mask = torch.zeros_like(w)
        mask[torch.topk(w, k).indices] = 1.0
        layer.set_mask(mask.view(layer.shape))
        stats[name] = {"params": layer.weight_params()}
    return stats


@torch.no_grad()
@torch.no_grad()
def spectra(model: DenseNet, cfg: PruningConfig) -> dict[str, tuple[np.ndarray, MPFit]]:
    """Singular values and MP fit of every eligible layer (cheap enough for every epoch:
    Gram eigenvalues for dense layers, the factors for factored ones)."""
    out = {}
    for name, layer in eligible_layers(model, cfg):
        s = layer.singular_values()
        out[name] = (s.double().numpy(), fit_layer(s, layer, cfg))
    return out


def layer_spectra_stats(model: DenseNet, cfg: PruningConfig) -> dict[str, dict]:
    """:func:`layer_stats` of every eligible layer."""
    layers = dict(eligible_layers(model, cfg))
    return {
        name: layer_stats(layers[name], s, fit) for name, (s, fit) in spectra(model, cfg).items()
    }
