"""pruning/esd on weight files written here: shapes, conv reshaping, recovered noise and spikes."""

import csv

import numpy as np
import pytest
import torch

from core.errors import DataNotFoundError
from core.pruning.esd import load_matrices
from tests.conftest import run_task


def read_layers(run_dir):
    with (run_dir / "layers.csv").open() as fh:
        return {row["name"]: row for row in csv.DictReader(fh)}


def test_esd_of_a_npy_matrix_recovers_noise_and_planted_spikes(tmp_path):
    rng = np.random.default_rng(0)
    m, n, sigma = 400, 800, 0.05
    w = sigma * rng.standard_normal((m, n))
    u, _ = np.linalg.qr(rng.standard_normal((m, 3)))
    v, _ = np.linalg.qr(rng.standard_normal((n, 3)))
    w += (u * np.array([3.0, 4.0, 6.0]) * sigma * np.sqrt(n)) @ v.T
    np.save(tmp_path / "layer.npy", w)

    result = run_task(["experiment=pruning/esd", f"weights={tmp_path / 'layer.npy'}"], tmp_path)
    row = read_layers(tmp_path)["layer"]
    assert (int(row["m"]), int(row["n"])) == (m, n)
    assert float(row["sigma_hat"]) == pytest.approx(sigma, rel=0.02)
    assert int(row["spikes"]) == 3 and result["esd/spikes"] == 3
    assert (tmp_path / "esd" / "layer.png").is_file()


def test_esd_of_a_state_dict_reshapes_convolutions_and_skips_biases(tmp_path):
    gen = torch.Generator().manual_seed(1)
    state = {
        "conv.weight": torch.randn(32, 8, 3, 3, generator=gen),
        "conv.bias": torch.zeros(32),
        "fc.weight": torch.randn(64, 128, generator=gen),
    }
    torch.save({"state_dict": state}, tmp_path / "net.pt")
    run_task(["experiment=pruning/esd", f"weights={tmp_path / 'net.pt'}"], tmp_path)
    layers = read_layers(tmp_path)
    assert set(layers) == {"conv.weight", "fc.weight"}
    assert (int(layers["conv.weight"]["m"]), int(layers["conv.weight"]["n"])) == (32, 72)
    assert float(layers["fc.weight"]["sigma_hat"]) == pytest.approx(1.0, rel=0.05)


def test_missing_weights_file_says_so(tmp_path):
    with pytest.raises(DataNotFoundError, match="does not exist"):
        load_matrices(tmp_path / "nope.pt")
