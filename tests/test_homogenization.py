"""Properties of the fine solver, the RPS bases and the coarse FEM baseline."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from core.errors import ConfigError, UserError
from core.homogenization.coefficients import CoefficientSpec, coefficient_field, contrast
from core.homogenization.experiments import SourceSpec, source_function
from core.homogenization.fine import FineProblem
from core.homogenization.points import PointsSpec, fill_distance, lattice, point_set
from core.homogenization.rps import (
    build_patches,
    coarse_p1_space,
    fitted_rate,
    galerkin,
    patch_cells,
    recover,
    rps_global_basis,
    rps_local_basis,
    rps_saddle_point_basis,
)
from core.homogenization.solvers import cholmod_available, factorize


def make_problem(fine_n: int, kind: str = "trig", **keys) -> FineProblem:
    spec = CoefficientSpec(kind=kind, **keys)
    return FineProblem.from_field(fine_n, lambda x: coefficient_field(spec, x), "splu")


@pytest.fixture(scope="module")
def trig32() -> FineProblem:
    return make_problem(32)


def test_trig_coefficient_contrast_is_about_1e3() -> None:
    a = coefficient_field(
        CoefficientSpec(kind="trig", K=5), np.random.default_rng(0).random((2, 20000))
    )
    assert 3e2 < contrast(a) < 3e3


def test_checkerboard_takes_exactly_two_values() -> None:
    spec = CoefficientSpec(kind="checkerboard", cells=4, contrast=1e4)
    a = coefficient_field(spec, np.array([[0.1, 0.3, 0.1], [0.1, 0.1, 0.3]]))
    np.testing.assert_allclose(a, [1.0, 1e4, 1e4])


def test_fine_solve_converges_at_rate_two_in_l2_for_smooth_solution() -> None:
    # u = sin(pi x) sin(pi y) solves -Laplace u = 2 pi^2 u with a = 1
    errs = []
    for n in (8, 16, 32):
        p = make_problem(n, "constant")
        u_h = p.solve(p.load(lambda x, y: 2 * np.pi**2 * np.sin(np.pi * x) * np.sin(np.pi * y)))
        exact = np.sin(np.pi * p.nodes[0]) * np.sin(np.pi * p.nodes[1])
        errs.append(np.abs(u_h - exact).max())
    assert fitted_rate([1 / 8, 1 / 16, 1 / 32], errs) == pytest.approx(2.0, abs=0.2)


def test_solvers_agree_on_the_fine_problem(trig32: FineProblem) -> None:
    F = trig32.load(source_function(SourceSpec()))
    reference = spla.spsolve(trig32.A, F)
    names = ["splu", "amg"] + (["cholmod"] if cholmod_available() else [])
    for name in names:
        u = factorize(trig32.A, name).solve(F)
        assert np.abs(u - reference).max() < 1e-8 * np.abs(reference).max()


def test_rps_basis_interpolates_point_values(trig32: FineProblem) -> None:
    X = lattice(4)
    E = trig32.evaluation(X)
    eye = np.eye(X.shape[1])
    assert np.abs(E @ rps_global_basis(trig32, E) - eye).max() < 1e-8
    Phi_local = rps_local_basis(trig32, E, X, 4, ell=1, workers=1)
    assert np.abs(E @ Phi_local - eye).max() < 1e-8


def test_scattered_rps_basis_interpolates_off_node_points(trig32: FineProblem) -> None:
    X = point_set(PointsSpec(kind="jittered", jitter=0.3), 4, 32, seed=1)
    E = trig32.evaluation(X)
    assert E.nnz > X.shape[1]  # the points really are off the fine nodes
    assert np.abs(E @ rps_global_basis(trig32, E) - np.eye(X.shape[1])).max() < 1e-8


def test_reduced_and_saddle_point_formulations_agree(trig32: FineProblem) -> None:
    E = trig32.evaluation(lattice(4))
    Phi = rps_global_basis(trig32, E)
    Phi_saddle = rps_saddle_point_basis(trig32, E)
    assert np.abs(Phi - Phi_saddle).max() < 1e-9 * np.abs(Phi).max()


def test_constant_coefficient_basis_is_discrete_biharmonic_spline() -> None:
    p = make_problem(32, "constant")
    E = p.evaluation(lattice(4))
    Phi = rps_global_basis(p, E)
    # A M^-1 A phi_i = -E^T mu: zero at every node that carries no point constraint
    bilaplace = p.A @ spla.splu(p.M).solve(p.A @ Phi)
    away = np.asarray(abs(E).sum(axis=0)).ravel() == 0
    assert np.abs(bilaplace[away]).max() < 1e-8 * np.abs(bilaplace).max()
    assert np.abs(bilaplace[~away]).max() > 1.0


def test_rps_energy_rate_is_at_least_0_9_on_trig() -> None:
    p = make_problem(64)
    F = p.load(source_function(SourceSpec()))
    u = p.solve(F)
    ns = [4, 8, 16]
    rps_err, fem_err = [], []
    for n in ns:
        E = p.evaluation(lattice(n))
        rps_err.append(p.relative_errors(u, galerkin(p, rps_global_basis(p, E), F))["energy_rel"])
        fem_err.append(p.relative_errors(u, galerkin(p, coarse_p1_space(p, n), F))["energy_rel"])
    H = [1 / n for n in ns]
    assert fitted_rate(H, rps_err) >= 0.9
    assert fitted_rate(H, fem_err) < 0.6  # rough coefficient: coarse FEM stalls
    assert rps_err[-1] < 0.1 * fem_err[-1]


def test_coarse_fem_reaches_rate_one_for_smooth_coefficient() -> None:
    p = make_problem(64, "constant")
    F = p.load(source_function(SourceSpec()))
    u = p.solve(F)
    ns = [4, 8, 16]
    errs = [p.relative_errors(u, galerkin(p, coarse_p1_space(p, n), F)) for n in ns]
    H = [1 / n for n in ns]
    assert fitted_rate(H, [e["energy_rel"] for e in errs]) == pytest.approx(1.0, abs=0.15)
    assert fitted_rate(H, [e["l2_rel"] for e in errs]) == pytest.approx(2.0, abs=0.25)


def test_coarse_p1_space_holds_the_coarse_hat_functions(trig32: FineProblem) -> None:
    P = coarse_p1_space(trig32, 4)
    # hat j is 1 at its own coarse node, 0 at the others, and they sum to 1 inside
    coarse_nodes = trig32.evaluation(lattice(4))
    np.testing.assert_allclose((coarse_nodes @ P).toarray(), np.eye(9), atol=1e-12)
    assert P.max() == pytest.approx(1.0) and P.min() >= 0.0


def test_localized_basis_approaches_global_as_ell_grows(trig32: FineProblem) -> None:
    X = lattice(8)
    E = trig32.evaluation(X)
    Phi = rps_global_basis(trig32, E)
    gaps = [
        np.linalg.norm(rps_local_basis(trig32, E, X, 8, ell, workers=1).toarray() - Phi)
        for ell in (1, 2, 3, 4)
    ]
    assert all(b < 0.5 * a for a, b in zip(gaps, gaps[1:], strict=False))
    # eight layers cover the whole square: the localized basis is the global one
    full = rps_local_basis(trig32, E, X, 8, ell=8, workers=1).toarray()
    assert np.abs(full - Phi).max() < 1e-9


def test_parallel_patches_match_serial(trig32: FineProblem) -> None:
    X = lattice(4)
    E = trig32.evaluation(X)
    serial = rps_local_basis(trig32, E, X, 4, ell=1, workers=1)
    parallel = rps_local_basis(trig32, E, X, 4, ell=1, workers=2)
    assert abs(serial - parallel).max() < 1e-14


def test_patch_cells_are_clipped_at_the_domain_border() -> None:
    X = np.array([[0.25, 0.5, 0.3], [0.25, 0.5, 0.9]])
    lo, hi = patch_cells(X, 4, ell=1)
    np.testing.assert_array_equal(lo, [[0, 1, 0], [0, 1, 2]])  # node (1/4, 1/4): cells 0..1
    np.testing.assert_array_equal(hi, [[2, 3, 3], [2, 3, 4]])  # (0.3, 0.9): 3 cells wide in x


def test_patch_holds_interior_nodes_and_member_points(trig32: FineProblem) -> None:
    X = lattice(4)
    patches = build_patches(trig32, X, 4, ell=1)
    corner, centre = patches[0], patches[4]  # points (1/4, 1/4) and (1/2, 1/2)
    # corner patch [0, 1/2]^2 on h = 1/32: 15 x 15 interior fine nodes, one point inside
    assert corner.dofs.size == 15 * 15 and list(corner.members) == [0]
    assert centre.dofs.size == 15 * 15 and list(centre.members) == [4]
    assert np.all(corner.dofs >= 0)
    assert np.all(trig32.nodes[:, corner.dofs] < 0.5) and np.all(trig32.nodes[:, corner.dofs] > 0)


def test_recovery_reproduces_the_basis_interpolant(trig32: FineProblem) -> None:
    E = trig32.evaluation(lattice(4))
    Phi = rps_global_basis(trig32, E)
    values = np.arange(9.0)
    np.testing.assert_allclose(E @ recover(Phi, values), values, atol=1e-10)


def test_random_points_reach_lattice_fill_distance() -> None:
    X = point_set(PointsSpec(kind="random", separation=0.5), 8, 64, seed=3)
    assert fill_distance(X, resolution=64) <= 1 / 8 / np.sqrt(2) + 1e-9
    d = np.linalg.norm(X[:, :, None] - X[:, None, :], axis=0) + np.eye(X.shape[1])
    assert d.min() > 2 / 64


def test_anisotropic_points_refuse_spacing_below_two_fine_cells() -> None:
    with pytest.raises(UserError, match="aspect"):
        point_set(PointsSpec(kind="anisotropic", aspect=8.0), 8, 32)


def test_unknown_coefficient_key_is_a_config_error() -> None:
    from core.config import from_dict

    with pytest.raises(ConfigError, match="contrst"):
        from_dict(CoefficientSpec, {"kind": "checkerboard", "contrst": 10.0})


def test_galerkin_with_sparse_and_dense_bases_agree(trig32: FineProblem) -> None:
    F = trig32.load(source_function(SourceSpec(kind="one")))
    P = coarse_p1_space(trig32, 4)
    np.testing.assert_allclose(
        galerkin(trig32, P, F), galerkin(trig32, P.toarray(), F), rtol=1e-10
    )
    assert sp.issparse(P)
