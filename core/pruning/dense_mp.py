"""Experiment pruning/dense_mp: MP spectral pruning during training against its peers.

From one initialization, four networks are trained with the same data order: ``dense``
(no pruning), ``mp`` (the MP rule of :mod:`core.pruning.spectral`), ``gd`` (one
truncation to the Gavish-Donoho rank at the MP schedule's last pruning epoch, so both
reach their final ranks together and fine-tune for as long) and ``magnitude`` (unstructured
magnitude pruning to the MP run's per-layer weight count at each of its pruning epochs).
A ``oneshot`` number prunes the trained dense net once by the MP rule, with no fine-tuning.
"""

from __future__ import annotations

import copy
import logging

from core.errors import UserError
from core.pruning import plots
from core.pruning.spectral import (
    PruningConfig,
    eligible_layers,
    gd_prune,
    is_prune_epoch,
    keep_fraction,
    layer_spectra_stats,
    magnitude_prune,
    mp_prune,
    spectra,
)
from core.tracking import Tracker
from core.training.data import DataConfig, load_dataset
from core.training.loop import TrainConfig, evaluate, train
from core.training.models import DenseNet, ModelConfig

log = logging.getLogger(__name__)


def dense_mp(
    *,
    data: DataConfig,
    model: ModelConfig,
    train_cfg: TrainConfig,
    pruning: PruningConfig,
    seed: int,
    tracker: Tracker,
) -> dict:
    """Train dense, MP-pruned, GD-truncated and magnitude-pruned nets; return test metrics.

    Returns ``<method>/test_acc``, ``train_acc``, ``test_loss`` and ``params`` (stored
    weights and biases) for each method, ``mp/param_ratio`` (mp / dense), the oneshot
    numbers, and the final rank of each pruned layer.
    """
    if model.kind != "dense":
        raise UserError("pruning/dense_mp needs model=dense (timm models: use pruning/esd)")
    ds = load_dataset(data)
    epochs = train_cfg.epochs

    def fresh() -> DenseNet:
        # the same seed gives every method the same initial weights
        return DenseNet(ds.n_features, model.widths, ds.n_classes, seed)

    curves: list[dict] = []
    rank_rows: list[dict] = []
    result: dict = {}

    def log_layers(method: str, epoch: int, stats: dict[str, dict]) -> None:
        flat = {f"{method}/{layer}/{k}": v for layer, st in stats.items() for k, v in st.items()}
        tracker.log(flat, step=epoch)
        rank_rows.extend(
            {"method": method, "epoch": epoch, "layer": layer, **st} for layer, st in stats.items()
        )

    def run(method: str, net: DenseNet, hook=None, track_spectra: bool = False) -> None:
        """Train one method; log its curves (and per-layer spectra every epoch if asked)."""

        def log_epoch(epoch: int, metrics: dict) -> None:
            tracker.log({f"{method}/{k}": v for k, v in metrics.items()}, step=epoch)
            curves.append({"method": method, "epoch": epoch, **metrics})
            if track_spectra:
                log_layers(method, epoch, layer_spectra_stats(net, pruning))

        final = train(net, ds, train_cfg, seed, method, hook, log_epoch)
        out = {f"{method}/{k}": final[k] for k in ("test_acc", "train_acc", "test_loss")}
        out[f"{method}/params"] = net.param_count()
        tracker.record(out)
        result.update(out)
        log.info("%s: test acc %.4f, %d parameters", method, final["test_acc"], net.param_count())

    # 1. dense reference, its spectra before and after training, and the one-shot cut
    net = fresh()
    if not eligible_layers(net, pruning):
        raise UserError(
            f"no layer has both sides >= pruning.min_dim={pruning.min_dim}; "
            "widen model.widths or lower pruning.min_dim"
        )
    before = spectra(net, pruning)
    run("dense", net, track_spectra=True)
    after = spectra(net, pruning)
    oneshot = copy.deepcopy(net)
    mp_prune(oneshot, pruning, fraction=0.0)
    test = evaluate(oneshot, ds.x_test, ds.y_test)
    result |= {"oneshot/test_acc": test["acc"], "oneshot/params": oneshot.param_count()}

    # 2. MP pruning during training; its weight counts become the magnitude peer's budgets
    net, budgets = fresh(), {}

    def mp_hook(epoch: int) -> bool:
        if not is_prune_epoch(epoch, pruning, epochs):
            return False
        stats = mp_prune(net, pruning, keep_fraction(epoch, pruning, epochs))
        budgets[epoch] = {name: st["params"] for name, st in stats.items()}
        return True

    run("mp", net, mp_hook, track_spectra=True)
    # the last logged rank of each layer (the final epoch) is its final rank
    result |= {f"mp/{r['layer']}/rank": r["rank"] for r in rank_rows if r["method"] == "mp"}

    # 3. Gavish-Donoho truncation once, at the MP schedule's last pruning epoch (none if the
    # schedule never prunes, so that the comparison stays like for like)
    net = fresh()
    gd_epoch = max(budgets, default=None)

    def gd_hook(epoch: int) -> bool:
        if epoch != gd_epoch:
            return False
        log_layers("gd", epoch, gd_prune(net, pruning))
        return True

    run("gd", net, gd_hook)
    log_layers("gd", epochs, layer_spectra_stats(net, pruning))

    # 4. magnitude pruning to the MP run's weight count, layer by layer, same epochs
    net = fresh()

    def magnitude_hook(epoch: int) -> bool:
        if epoch not in budgets:
            return False
        magnitude_prune(net, budgets[epoch])
        return True

    run("magnitude", net, magnitude_hook)
    result["mp/param_ratio"] = result["mp/params"] / result["dense/params"]

    # figures, each with the data behind it
    panels = [(f"{n} at init", *before[n]) for n in before]
    panels += [(f"{n} trained (dense)", *after[n]) for n in after]
    esd_data = {
        f"{when}/{n}": {"singular_values": sv, "fit": fit.__dict__}
        for when, group in (("init", before), ("trained", after))
        for n, (sv, fit) in group.items()
    }
    tracker.figure("esd", plots.esd_figure(panels, ncols=len(before)), esd_data)
    tracker.figure("accuracy", plots.accuracy_figure(curves), curves)
    tracker.figure("ranks", plots.rank_figure(rank_rows), rank_rows)
    return result
