"""Spectral pruning of dense nets: the rule, the layer forms, and the experiment end to end."""

import json

import numpy as np
import pytest
import torch

from core.pruning.spectral import (
    PruningConfig,
    is_prune_epoch,
    keep_fraction,
    magnitude_prune,
    mp_prune,
    mp_rank,
)
from core.spectral.mp import MPFit
from core.training.models import DenseNet
from tests.conftest import run_task


def test_keep_fraction_decays_linearly_to_zero_at_the_end_epoch():
    cfg = PruningConfig(start_epoch=2, end_epoch=10, keep_start=0.8, every=2)
    fractions = [keep_fraction(e, cfg, epochs=12) for e in (2, 4, 6, 8, 10, 12)]
    np.testing.assert_allclose(fractions, [0.8, 0.6, 0.4, 0.2, 0.0, 0.0])
    assert [e for e in range(13) if is_prune_epoch(e, cfg, 12)] == [2, 4, 6, 8, 10]


def test_mp_rank_keeps_all_spikes_and_the_given_share_of_the_bulk():
    s = torch.cat([torch.tensor([50.0, 40.0, 30.0]), torch.linspace(2.0, 0.1, 97)])
    fit = MPFit(m=100, n=400, sigma_hat=0.05, lambda_plus=0.0, sigma_plus=2.5, spikes=3, gof=0.0)
    assert mp_rank(s, fit, 0.0) == 3
    assert mp_rank(s, fit, 0.5) == 3 + round(0.5 * 97)
    assert mp_rank(s, fit, 1.0) == 100


def test_factored_layer_computes_the_same_map_as_its_truncated_weight():
    net = DenseNet(120, [200], 10, seed=0)
    layer = net.layers[0]
    u, s, vh = torch.linalg.svd(layer.effective_weight().detach(), full_matrices=False)
    layer.set_low_rank(u[:, :20], s[:20], vh[:20])
    assert layer.factored and layer.weight_params() == 20 * (200 + 120)
    x = torch.randn(7, 120)
    expected = x @ ((u[:, :20] * s[:20]) @ vh[:20]).T + layer.bias
    torch.testing.assert_close(layer(x), expected, rtol=1e-4, atol=1e-5)


def test_factored_layer_spectrum_has_exact_zeros_past_its_rank():
    net = DenseNet(300, [400], 10, seed=5)
    layer = net.layers[0]
    u, s, vh = torch.linalg.svd(layer.effective_weight().detach(), full_matrices=False)
    layer.set_low_rank(u[:, :12], s[:12], vh[:12])
    values = layer.singular_values()
    assert values.shape == (300,) and int((values > 0).sum()) == 12
    torch.testing.assert_close(values[:12], s[:12], rtol=1e-4, atol=1e-6)
    u2, s2, vh2 = layer.svd()
    torch.testing.assert_close(
        (u2 * s2) @ vh2, layer.effective_weight().detach(), atol=1e-5, rtol=0
    )


def test_mp_prune_of_pure_noise_keeps_only_the_requested_bulk_share():
    net = DenseNet(400, [400], 10, seed=1)  # N(0, 1/fan_in): MP with no spikes
    stats = mp_prune(net, PruningConfig(min_dim=50), fraction=0.25)
    assert stats["fc1"]["spikes"] == 0
    assert stats["fc1"]["rank"] == 100
    assert stats["fc1"]["sigma_hat"] == pytest.approx(1 / np.sqrt(400), rel=0.02)


def test_magnitude_prune_keeps_exactly_the_budget_of_largest_weights():
    net = DenseNet(50, [60], 10, seed=2)
    w = net.layers[0].effective_weight().detach().abs().flatten()
    magnitude_prune(net, {"fc1": 300})
    kept = net.layers[0].effective_weight().detach().abs().flatten()
    assert int((kept > 0).sum()) == 300
    assert kept[kept > 0].min() >= torch.topk(w, 300).values.min()


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    from tests.conftest import TINY_DENSE

    run_dir = tmp_path_factory.mktemp("dense_mp")
    return run_dir, run_task([*TINY_DENSE, "seed=3"], run_dir)


def test_dense_mp_runs_and_prunes_to_fewer_parameters(tiny_run):
    run_dir, result = tiny_run
    for method in ("dense", "mp", "gd", "magnitude"):
        assert 0.0 <= result[f"{method}/test_acc"] <= 1.0
    assert result["dense/test_acc"] > 0.8  # digits is easy even for 4 epochs
    assert result["mp/params"] < result["dense/params"]
    assert result["magnitude/params"] == result["mp/params"]
    # reported ranks agree with the stored parameters of the pruned net
    fc1_rank, fc2_rank = result["mp/fc1/rank"], result["mp/fc2/rank"]
    out_layer = 64 * 10 + 10
    weights = [r * (96 + 64) if r * (96 + 64) < 96 * 64 else 96 * 64 for r in (fc1_rank, fc2_rank)]
    assert result["mp/params"] == sum(weights) + 96 + 64 + out_layer
    for name in ("esd", "accuracy", "ranks"):
        assert (run_dir / f"{name}.png").is_file()
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    keys = set().union(*(json.loads(line) for line in lines))
    assert {"dense/test_acc", "mp/fc1/sigma_plus", "mp/fc1/rank", "gd/fc1/rank"} <= keys


def test_same_seed_gives_the_same_numbers(tmp_path, tiny_run, tiny_dense):
    again = run_task([*tiny_dense, "seed=3"], tmp_path)
    assert again == tiny_run[1]


def test_different_seeds_give_different_initializations():
    a, b = DenseNet(64, [32], 10, seed=3), DenseNet(64, [32], 10, seed=4)
    assert not torch.equal(a.layers[0].weight, b.layers[0].weight)
