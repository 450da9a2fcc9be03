"""The Marchenko-Pastur law, its bulk fit and the Gavish-Donoho peer."""

import numpy as np
import pytest
from scipy.integrate import quad

from core.spectral.mp import (
    fit_mp_bulk,
    gavish_donoho_threshold,
    gram_eigenvalues,
    mp_cdf,
    mp_edges,
    mp_pdf,
    mp_quantiles,
    sigma_plus,
)


def noise_plus_spikes(m, n, sigma, thetas, seed):
    """sigma * Z + sum theta_i sigma sqrt(N) u_i v_i^T with orthonormal u, v."""
    rng = np.random.default_rng(seed)
    n_big = max(m, n)
    w = sigma * rng.standard_normal((m, n))
    r = len(thetas)
    if r:
        u, _ = np.linalg.qr(rng.standard_normal((m, r)))
        v, _ = np.linalg.qr(rng.standard_normal((n, r)))
        w += (u * (np.asarray(thetas) * sigma * np.sqrt(n_big))) @ v.T
    return w


@pytest.mark.parametrize("gamma", [0.1, 0.3, 0.7, 1.0])
def test_mp_cdf_is_the_integral_of_the_density(gamma):
    lo, hi = mp_edges(gamma, 2.0)
    xs = np.linspace(lo, hi, 9)[1:-1]
    numeric = [quad(lambda t: mp_pdf(np.array([t]), gamma, 2.0)[0], lo, x)[0] for x in xs]
    np.testing.assert_allclose(mp_cdf(xs, gamma, 2.0), numeric, atol=1e-6)
    assert mp_cdf(np.array([hi * 1.01]), gamma, 2.0)[0] == 1.0


@pytest.mark.parametrize("gamma", [0.1, 0.5, 1.0])
def test_mp_quantiles_invert_the_cdf(gamma):
    q = np.linspace(0.01, 0.99, 50)
    np.testing.assert_allclose(mp_cdf(mp_quantiles(q, gamma), gamma), q, atol=1e-5)


@pytest.mark.parametrize(("m", "n"), [(300, 3000), (500, 1000), (800, 800)])
def test_mp_cdf_matches_monte_carlo_spectrum(m, n):
    sigma = 1.3
    lam = gram_eigenvalues(noise_plus_spikes(m, n, sigma, [], seed=1))
    gamma = min(m, n) / max(m, n)
    empirical = (np.arange(1, lam.size + 1) - 0.5) / lam.size
    ks = np.max(np.abs(mp_cdf(lam, gamma, sigma**2) - empirical))
    # finite-size spectra sit within a few 1/p of the law; a wrong law misses by far more
    assert ks < 0.02
    wrong = np.max(np.abs(mp_cdf(lam, gamma, (1.1 * sigma) ** 2) - empirical))
    assert wrong > 3 * ks


SHAPES = [(200, 2000), (300, 1200), (500, 1000), (1000, 1000), (2000, 2000), (800, 2000)]


@pytest.mark.parametrize(("m", "n"), SHAPES)
def test_mp_fit_recovers_noise_level_and_spike_count(m, n):
    sigma = 0.37
    gamma = min(m, n) / max(m, n)
    # spikes well beyond the detection threshold gamma^(1/4)
    thetas = np.array([1.6, 2.0, 3.0, 5.0]) * gamma**0.25
    w = noise_plus_spikes(m, n, sigma, thetas, seed=m + n)
    s = np.sqrt(gram_eigenvalues(w) * max(m, n))
    fit = fit_mp_bulk(s, m, n)
    assert abs(fit.sigma_hat / sigma - 1) < 0.02
    assert fit.spikes == len(thetas)
    assert fit.gof < 0.05


def test_mp_fit_of_a_truncated_matrix_uses_only_what_is_left():
    m, n, sigma = 600, 1200, 0.5
    w = noise_plus_spikes(m, n, sigma, [2.0, 3.0], seed=3)
    u, s, vh = np.linalg.svd(w, full_matrices=False)
    r = 400  # a third of the small values already cut to exact zeros
    truncated = (u[:, :r] * s[:r]) @ vh[:r]
    s_trunc = np.linalg.svd(truncated, compute_uv=False)
    fit = fit_mp_bulk(s_trunc, m, n)
    assert abs(fit.sigma_hat / sigma - 1) < 0.02
    assert fit.spikes == 2


def test_sigma_plus_is_the_singular_value_edge_of_noise():
    m, n, sigma = 1000, 2000, 0.2
    s = np.linalg.svd(noise_plus_spikes(m, n, sigma, [], seed=5), compute_uv=False)
    assert s.max() == pytest.approx(sigma_plus(sigma, m, n), rel=0.01)
    fit = fit_mp_bulk(s, m, n)
    assert fit.sigma_plus == pytest.approx(sigma_plus(sigma, m, n), rel=0.02)
    assert fit.spikes == 0


def test_gavish_donoho_keeps_strong_spikes_and_drops_noise():
    m, n, sigma = 500, 1000, 1.0
    w = noise_plus_spikes(m, n, sigma, [3.0, 4.0, 6.0], seed=7)
    s = np.linalg.svd(w, compute_uv=False)
    tau = gavish_donoho_threshold(s, m, n)
    assert int((s > tau).sum()) == 3
    # the unknown-noise threshold is close to the known-noise one
    assert tau == pytest.approx(gavish_donoho_threshold(s, m, n, sigma=sigma), rel=0.05)
