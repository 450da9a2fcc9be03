"""Free convolution of the semicircle with nu: solver, support, outliers; rectangular spikes."""

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from core.spectral.free import (
    ConvergenceError,
    DeformedSemicircle,
    Mixture,
    PointMasses,
    Uniform,
    semicircle_density,
    semicircle_outlier,
    semicircle_overlap,
    stieltjes_empirical,
    stieltjes_semicircle,
)
from core.spectral.rectangular import (
    noise_edge,
    shrink_singular_values,
    spike_overlaps,
    spike_singular_value,
    spike_threshold,
)

GROWING = Mixture((PointMasses(np.zeros(1)), Uniform(1.0, 2.0)), (0.75, 0.25))


@pytest.fixture(autouse=True)
def one_blas_thread():
    """Small LAPACK calls: one thread avoids spin-waiting BLAS threads on busy shared cores."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def test_zero_perturbation_density_is_the_semicircle():
    sigma = 0.7
    law = DeformedSemicircle(PointMasses(np.zeros(1)), sigma)
    x = np.linspace(-2, 2, 801)
    err = np.abs(law.density(x) - semicircle_density(x, sigma))
    # at the edges the Poisson smoothing of width eta costs O(sqrt(eta)); elsewhere it is exact
    near_edge = np.abs(np.abs(x) - 2 * sigma) < 1e-3
    assert err.max() < 1e-4
    assert err[~near_edge].max() < 1e-7
    np.testing.assert_allclose(law.edges(), [[-2 * sigma, 2 * sigma]], atol=1e-10)
    z = x + 0.3j
    np.testing.assert_allclose(law.stieltjes(z), stieltjes_semicircle(z, sigma), atol=1e-10)


@pytest.mark.parametrize(
    "nu", [GROWING, PointMasses(np.array([-1.5, 1.5])), Uniform(-1.0, 1.0)], ids=str
)
def test_solver_density_integrates_to_one(nu):
    law = DeformedSemicircle(nu, 1.0)
    # a plain uniform grid, independent of the CDF quadrature
    x = np.linspace(law.edges()[0, 0] - 0.5, law.edges()[-1, 1] + 0.5, 40001)
    assert abs(np.trapezoid(law.density(x), x) - 1) < 2e-4
    assert abs(law.total_mass() - 1) < 1e-5


def test_two_point_support_matches_solver_edges():
    sigma, b = 1.0, 1.5
    law = DeformedSemicircle(PointMasses(np.array([-b, b])), sigma)
    # critical points of h solve (u^2 - b^2)^2 = sigma^2 (u^2 + b^2), a quadratic in u^2
    y = ((2 * b**2 + sigma**2) + np.array([-1, 1]) * sigma * np.sqrt(sigma**2 + 8 * b**2)) / 2
    u = np.sqrt(y)
    f = u + sigma**2 * u / (u**2 - b**2)
    expected = np.array([[-f[1], -f[0]], [f[0], f[1]]])
    np.testing.assert_allclose(law.edges(), expected, atol=1e-10)
    # the fixed-point density is positive just inside each edge and vanishes just outside
    inside = (expected + np.array([1e-3, -1e-3])).ravel()
    outside = (expected + np.array([-1e-3, 1e-3])).ravel()
    assert np.all(law.density(inside) > 1e-3)
    assert np.all(law.density(outside) < 1e-6)


def test_solver_agrees_with_freealg_on_a_discrete_law():
    freealg = pytest.importorskip("freealg.distributions")
    atoms, weights = np.array([-1.0, 0.5, 2.0]), np.array([0.3, 0.5, 0.2])
    law = DeformedSemicircle(PointMasses(atoms, weights), 0.8)
    z = np.linspace(-4, 4, 200) + 0.05j
    peer = freealg.DeformedWigner(atoms, weights, sigma=0.8).stieltjes(z)
    np.testing.assert_allclose(law.stieltjes(z), peer, atol=1e-8)


def test_solver_fixed_point_satisfies_the_subordination_equation():
    law = DeformedSemicircle(GROWING, 1.3)
    z = np.linspace(-4, 5, 500) + 1e-6j
    omega = law.subordination(z)
    residual = omega - z - 1.3**2 * GROWING.resolvent_moment(omega, 1)
    assert np.max(np.abs(residual)) < 1e-9
    assert np.all(omega.imag > z.imag)


def test_solver_raises_clear_error_when_it_does_not_converge():
    law = DeformedSemicircle(GROWING, 1.0)
    with pytest.raises(ConvergenceError, match="did not converge.*max_iter"):
        law.subordination(np.array([2.98 + 1e-12j]), max_iter=2)


def test_finite_rank_outlier_rule_is_theta_plus_sigma2_over_theta():
    law = DeformedSemicircle(PointMasses(np.zeros(1)), 1.0)
    assert law.outliers([3.0])[0] == pytest.approx(10 / 3)
    theta = np.array([-3.0, -1.5, -0.9, 0.2, 0.99, 1.01, 2.0, 5.0])
    np.testing.assert_allclose(law.outliers(theta), semicircle_outlier(theta, 1.0))
    np.testing.assert_allclose(law.overlaps(theta), semicircle_overlap(theta, 1.0))
    assert np.isnan(law.outliers([0.8])[0])


def test_general_outlier_rule_threshold_is_where_outlier_meets_the_edge():
    law = DeformedSemicircle(GROWING, 1.0)
    threshold = law.critical_points()[-1]
    # the outlier curve F(theta) starts exactly at the top edge, with overlap zero
    assert law.outliers([threshold + 1e-9])[0] == pytest.approx(law.edges()[-1, 1], abs=1e-6)
    assert law.overlaps([threshold + 1e-9])[0] == pytest.approx(0, abs=1e-6)
    assert np.isnan(law.outliers([threshold - 1e-3])[0])
    # a spike inside supp nu never separates
    assert np.isnan(law.outliers([1.5])[0])


def test_empirical_stieltjes_is_the_mean_resolvent():
    eig = np.array([-1.0, 0.0, 2.0])
    z = np.array([0.5 + 1j])
    assert stieltjes_empirical(z, eig)[0] == pytest.approx(np.mean(1 / (eig - z[0])))


def test_rectangular_spike_location_and_threshold():
    c = 0.25
    assert spike_threshold(c) == pytest.approx(np.sqrt(0.5))
    assert spike_singular_value(spike_threshold(c) + 1e-12, c) == pytest.approx(noise_edge(c))
    assert spike_singular_value(0.3, c) == pytest.approx(1.5)
    theta = np.array([0.8, 1.0, 2.0, 5.0])
    s = spike_singular_value(theta, c)
    np.testing.assert_allclose(shrink_singular_values(s, c), theta, rtol=1e-10)
    np.testing.assert_allclose(shrink_singular_values(3 * s, c, scale=3.0), 3 * theta)
    assert shrink_singular_values(np.array([1.4]), c)[0] == 0.0


def test_rectangular_spike_matches_monte_carlo_and_shrinker_recovers_signal():
    rng = np.random.default_rng(3)
    m, n, theta, sigma = 200, 400, 2.0, 0.5
    c, scale = m / n, sigma * np.sqrt(n)
    found, est, ov_short, ov_long = [], [], [], []
    for _ in range(6):
        u = rng.standard_normal(m)
        v = rng.standard_normal(n)
        u, v = u / np.linalg.norm(u), v / np.linalg.norm(v)
        y = sigma * rng.standard_normal((m, n)) + theta * scale * np.outer(u, v)
        left, s, right = np.linalg.svd(y)
        found.append(s[0])
        est.append(shrink_singular_values(s[:1], c, scale=scale)[0])
        ov_short.append((left[:, 0] @ u) ** 2)
        ov_long.append((right[0] @ v) ** 2)
    assert np.mean(found) == pytest.approx(spike_singular_value(theta * scale, c, scale), rel=0.02)
    assert np.mean(est) == pytest.approx(theta * scale, rel=0.03)
    short, long = spike_overlaps(theta, c)
    assert np.mean(ov_short) == pytest.approx(short, abs=0.03)
    assert np.mean(ov_long) == pytest.approx(long, abs=0.03)
    frob = shrink_singular_values(np.array([np.mean(found)]), c, scale=scale, kind="frobenius")
    assert frob[0] < np.mean(est)
