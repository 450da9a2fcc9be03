"""Deformed Wigner matrices against the free-probability predictions, and the experiments."""

import json

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from hydra.utils import get_method
from omegaconf import OmegaConf
from threadpoolctl import threadpool_limits

from core.config import call_checked
from core.spectral.free import DeformedSemicircle
from core.spectral.wigner import (
    Perturbation,
    deformed_wigner_spectra,
    top_eigenpairs,
    wigner_matrices,
)
from core.spectral.wigner_experiments import kolmogorov_distance, spike_indices
from core.tracking import Tracker
from runners.catalog import CONF_DIR


@pytest.fixture(autouse=True)
def one_blas_thread():
    """Small LAPACK calls: one thread avoids spin-waiting BLAS threads on busy shared cores."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def test_wigner_entries_have_variance_sigma2_over_n():
    rng = np.random.default_rng(0)
    for entries in ("gaussian", "rademacher"):
        w = wigner_matrices(400, 2, 1.5, entries, rng)
        off = w[:, np.triu_indices(400, 1)[0], np.triu_indices(400, 1)[1]]
        assert np.allclose(w, np.swapaxes(w, 1, 2))
        assert off.var() * 400 == pytest.approx(1.5**2, rel=0.02)


def test_rank_one_spike_three_gives_outlier_near_ten_thirds_at_n2000():
    s = Perturbation(kind="spikes", spikes=[3.0]).eigenvalues(2000)
    top, overlap = top_eigenpairs(s, 1, 1.0, "gaussian", np.random.default_rng(1))
    # fluctuations are sqrt(2 (1 - 1/theta^2) / N) ~ 0.03
    assert top[0] == pytest.approx(10 / 3, abs=0.1)
    assert overlap[0] == pytest.approx(1 - 1 / 9, abs=0.05)


def test_spike_below_threshold_gives_no_outlier():
    s = Perturbation(kind="spikes", spikes=[0.6]).eigenvalues(1000)
    eigs, _ = deformed_wigner_spectra(s, 2, 1.0, "gaussian", np.random.default_rng(2))
    # the top eigenvalue stays within a few Tracy-Widom widths N^(-2/3) of the edge 2,
    # while the same spike above the threshold would sit at theta + 1/theta
    assert np.all(np.abs(eigs[:, -1] - 2.0) < 0.08)
    assert np.all(eigs[:, -1] - eigs[:, -2] < 0.08)


def test_rademacher_and_gaussian_entries_agree():
    p = Perturbation(kind="growing", spikes=[4.0, -3.0])
    law = DeformedSemicircle(p.law(), 1.0)
    s = p.eigenvalues(600)
    idx = spike_indices(s, np.array(p.spikes))
    rng = np.random.default_rng(4)
    gauss, _ = deformed_wigner_spectra(s, 3, 1.0, "gaussian", rng)
    rade, _ = deformed_wigner_spectra(s, 3, 1.0, "rademacher", rng)
    bulk_g, bulk_r = np.delete(gauss, idx, axis=1), np.delete(rade, idx, axis=1)
    assert kolmogorov_distance(bulk_g, law.cdf) < 0.01
    assert kolmogorov_distance(bulk_r, law.cdf) < 0.01
    np.testing.assert_allclose(gauss[:, idx].mean(0), rade[:, idx].mean(0), atol=0.08)
    np.testing.assert_allclose(rade[:, idx].mean(0), law.outliers(p.spikes), atol=0.08)


def test_density_error_detects_a_wrong_prediction():
    p = Perturbation(kind="growing")
    s = p.eigenvalues(600)
    eigs, _ = deformed_wigner_spectra(s, 3, 1.0, "gaussian", np.random.default_rng(5))
    right = DeformedSemicircle(p.law(), 1.0)
    semicircle_only = DeformedSemicircle(Perturbation(kind="spikes").law(), 1.0)
    wrong_sigma = DeformedSemicircle(p.law(), 1.1)
    assert kolmogorov_distance(eigs, right.cdf) < 0.01
    assert kolmogorov_distance(eigs, semicircle_only.cdf) > 0.1
    assert kolmogorov_distance(eigs, wrong_sigma.cdf) > 0.02


def test_spike_indices_follow_the_sorted_spectrum_of_s_with_ties():
    p = Perturbation(kind="growing", spikes=[3.0, -2.0, 3.0])
    s = p.eigenvalues(100)
    idx = spike_indices(s, np.array(p.spikes))
    assert sorted(idx.tolist()) == [0, 98, 99]
    np.testing.assert_array_equal(s[idx], p.spikes)


def _run(tmp_path, overrides):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("config", overrides=["logger=none", *overrides])
    task = OmegaConf.to_container(cfg.task, resolve=True)
    target = task.pop("_target_")
    tracker = Tracker(tmp_path)
    try:
        return call_checked(get_method(target), task, tracker=tracker)
    finally:
        tracker.close()


def test_deformed_wigner_experiment_runs_with_tiny_settings(tmp_path):
    result = _run(tmp_path, ["experiment=spectra/deformed_wigner", "N=[100,200]", "samples=2"])
    keys = ["density/sup_err", "density/l1_err", "outliers/max_abs_err", "edges/max_abs_err"]
    assert all(np.isfinite(result[k]) for k in keys)
    assert result["N"] == 200 and result["outliers/count"] == 3
    assert result["density/sup_err"] < 0.03
    assert (tmp_path / "density.png").exists() and (tmp_path / "finite_size.csv").exists()
    json.dumps(result)


def test_deformed_wigner_experiment_takes_another_perturbation(tmp_path):
    result = _run(
        tmp_path,
        ["experiment=spectra/deformed_wigner", "perturbation=two_point", "N=150", "samples=2"],
    )
    assert result["outliers/count"] == 0 and result["edges/max_abs_err"] < 0.3


def test_outlier_phase_experiment_runs_with_tiny_settings(tmp_path):
    result = _run(
        tmp_path,
        ["experiment=spectra/outlier_phase", "N=150", "samples=1", "thetas=[0.5,3.0]"],
    )
    assert result["phase/rank_one_threshold"] == pytest.approx(1.0)
    assert result["phase/rank_one_max_abs_err"] < 0.3
    assert (tmp_path / "phase.png").exists()
