"""Experiment pruning/esd: the empirical spectral density of every weight matrix of a
network, with its Marchenko-Pastur bulk fit, edge and spikes."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from core.errors import DataNotFoundError, UserError
from core.pruning import plots
from core.spectral.mp import check_fit_options, fit_mp_bulk, gram_eigenvalues
from core.tracking import Tracker
from core.training.data import DataConfig, load_dataset
from core.training.loop import TrainConfig, train
from core.training.models import DenseNet, ModelConfig, build_timm

log = logging.getLogger(__name__)


def load_matrices(path: str | Path) -> dict[str, np.ndarray]:
    """Every 2-D (or reshaped N-D) weight in a torch state dict, ``.npy`` or ``.npz`` file.

    Convolution kernels ``out x in x kh x kw`` become ``out x (in kh kw)``.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataNotFoundError(f"weights file {path} does not exist; pass weights=<path>")
    if path.suffix in (".npy", ".npz"):
        try:
            loaded = np.load(path)
            arrays = {path.stem: loaded} if path.suffix == ".npy" else dict(loaded)
        except (ValueError, OSError) as err:
            raise UserError(f"{path} is not a numeric .npy/.npz array file: {err}") from None
    else:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:
            raise UserError(
                f"{path} is not a torch state dict or .npy/.npz file ({type(err).__name__}: {err})"
            ) from None
        for key in ("state_dict", "model", "model_state_dict"):
            if isinstance(state, dict) and isinstance(state.get(key), dict):
                state = state[key]
        if not isinstance(state, dict):
            raise UserError(f"{path} holds a {type(state).__name__}, not a state dict")
        arrays = {k: v.float().numpy() for k, v in state.items() if torch.is_tensor(v)}
    mats = {
        k: np.asarray(a, dtype=np.float64).reshape(a.shape[0], -1)
        for k, a in arrays.items()
        if np.ndim(a) >= 2 and _is_real(np.asarray(a).dtype)
    }
    if not mats:
        shapes = ", ".join(f"{k} {np.shape(a)}" for k, a in list(arrays.items())[:6]) or "nothing"
        raise UserError(
            f"{path} holds no 2-D numeric array (found {shapes}); pass a weight matrix or a "
            "state dict with weight matrices"
        )
    for name, w in mats.items():
        if not np.isfinite(w).all():
            raise UserError(f"weight {name} in {path} has NaN or inf entries")
        if not np.any(w):
            raise UserError(f"weight {name} in {path} is all zeros: it has no spectrum to fit")
    return mats


def _is_real(dtype: np.dtype) -> bool:
    return np.issubdtype(dtype, np.floating) or np.issubdtype(dtype, np.integer)


def network_matrices(
    model_cfg: ModelConfig, data: DataConfig, train_cfg: TrainConfig, seed: int
) -> dict[str, np.ndarray]:
    """Weights of the default network: a dense net trained on ``data``, or a timm model
    (random init, or its local checkpoint)."""
    if model_cfg.kind == "timm":
        model = build_timm(model_cfg, n_classes=10)
        state = model.state_dict()
        return {k: v.reshape(v.shape[0], -1).numpy() for k, v in state.items() if v.ndim >= 2}
    ds = load_dataset(data)
    net = DenseNet(ds.n_features, model_cfg.widths, ds.n_classes, seed)
    train(net, ds, train_cfg, seed, "train")
    return {n: layer.effective_weight().detach().numpy() for n, layer in net.named_weights()}


def esd(
    *,
    weights: str | None,
    data: DataConfig,
    model: ModelConfig,
    train_cfg: TrainConfig,
    min_dim: int,
    alpha: float,
    tw_level: float,
    seed: int,
    tracker: Tracker,
) -> dict:
    """Fit the MP bulk of every weight matrix; write layers.csv and one figure per layer.

    Returns ``esd/layers`` (matrices analyzed), ``esd/spikes`` (total spikes) and
    ``esd/median_gof`` (median sup-CDF distance of the fits).
    """
    check_fit_options(alpha, tw_level)
    mats = load_matrices(weights) if weights else network_matrices(model, data, train_cfg, seed)
    mats = {k: v for k, v in mats.items() if min(v.shape) >= min_dim}
    if not mats:
        raise UserError(f"no weight matrix has both sides >= min_dim={min_dim}; lower min_dim")

    rows = []
    for name, w in tqdm(mats.items(), desc="esd", disable=None):
        m, n = w.shape
        lam = gram_eigenvalues(w)
        s = np.sqrt(lam * max(m, n))
        fit = fit_mp_bulk(s, m, n, alpha=alpha, tw_level=tw_level)
        rows.append(
            {
                "name": name,
                "m": m,
                "n": n,
                "sigma_hat": fit.sigma_hat,
                "sigma_plus": fit.sigma_plus,
                "spikes": fit.spikes,
                "gof": fit.gof,
            }
        )
        fig = plots.esd_figure([(name, s, fit)], ncols=1)
        safe = name.replace("/", "_")
        tracker.figure(f"esd/{safe}", fig, {"singular_values": s, "fit": fit.__dict__})
    tracker.table("layers", rows)
    log.info("analyzed %d matrices, %d spikes in all", len(rows), sum(r["spikes"] for r in rows))
    return {
        "esd/layers": len(rows),
        "esd/spikes": int(sum(r["spikes"] for r in rows)),
        "esd/median_gof": float(np.median([r["gof"] for r in rows])),
    }
