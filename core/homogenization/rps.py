"""Rough polyharmonic splines (REFERENCE.md 1.2): global and localized bases, Galerkin
solve and recovery in their span, and the coarse P1 baseline on the same fine space.

``phi_i`` minimizes ``v^T A M^-1 A v`` (the discrete ``||div(a grad v)||_L2^2``) over fine
P1 ``v`` with ``E v = e_i``. Eliminating the multipliers of the saddle-point system gives
``Phi = A^-1 M A^-1 E^T Theta^-1`` with ``Theta = E A^-1 M A^-1 E^T``: one factorization of
``A`` and two solves per point, exact for the consistent mass matrix ``M``.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from skfem import Basis, ElementTriP1, MeshTri
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from core.errors import UserError
from core.homogenization.fine import FineProblem

log = logging.getLogger(__name__)


def theta_inverse(Theta: np.ndarray) -> np.ndarray:
    """Inverse of the symmetric positive definite Gram matrix ``Theta`` (Cholesky)."""
    Theta = 0.5 * (Theta + Theta.T)
    try:
        factor = sla.cho_factor(Theta)
    except np.linalg.LinAlgError as err:
        raise UserError(
            "the point constraints are degenerate (two points in one fine cell?): "
            "spread the points or refine fine_n"
        ) from err
    return sla.cho_solve(factor, np.eye(Theta.shape[0]))


def splu_spd(A: sp.spmatrix) -> spla.SuperLU:
    """SuperLU of an SPD matrix in symmetric mode (diagonal pivots, ordering on A^T + A),
    about 1.6x faster to factorize than the default on patch matrices."""
    return spla.splu(
        sp.csc_matrix(A),
        permc_spec="MMD_AT_PLUS_A",
        diag_pivot_thresh=0.0,
        options={"SymmetricMode": True},
    )


def rps_global_basis(problem: FineProblem, E: sp.csr_matrix, block: int = 128) -> np.ndarray:
    """Global RPS basis ``Phi`` (n, N) by the reduced formulation: one factorization of A,
    2N solves in column blocks of ``block`` (so only ``Z = A^-1 M A^-1 E^T`` and Phi are
    held in full). Column i is ``phi_i``, with ``phi_i(x_j) = delta_ij``."""
    # LIMITATION: Phi is dense, n x N doubles (0.5 GB at h = 1/256, H = 1/32); the global
    # basis is for reference and moderate N, the localized basis is the scalable one.
    n, N = problem.A.shape[0], E.shape[0]
    Et = sp.csc_matrix(E.T)
    Z = np.empty((n, N))
    for start in range(0, N, block):
        cols = slice(start, min(start + block, N))
        W = problem.factor.solve(Et[:, cols].toarray())
        Z[:, cols] = problem.factor.solve(problem.M @ W)
    return Z @ theta_inverse(E @ Z)


def rps_saddle_point_basis(problem: FineProblem, E: sp.csr_matrix) -> np.ndarray:
    """Global RPS basis from the full saddle-point system of REFERENCE 1.2, factorized once
    (SuperLU) for all N right-hand sides ``e_i``. Returns ``Phi`` (n, N); for checks."""
    n, N = problem.A.shape[0], E.shape[0]
    K = sp.bmat(
        [[None, problem.A, E.T], [problem.A, -problem.M, None], [E, None, None]], format="csc"
    )
    rhs = np.zeros((2 * n + N, N))
    rhs[2 * n :, :] = np.eye(N)
    return spla.splu(K).solve(rhs)[:n]


@dataclass
class Patch:
    """Patch of point ``index``: interior fine dofs ``dofs``, the points ``members`` whose
    constraints it carries, and the position of ``index`` among them."""

    index: int
    dofs: np.ndarray
    members: np.ndarray
    position: int


def patch_cells(points: np.ndarray, coarse_n: int, ell: int) -> tuple[np.ndarray, np.ndarray]:
    """Coarse-cell range ``[lo, hi)`` per axis (2, N) of the patch of ``ell`` layers: the
    H-cells meeting the open square of half-side ``ell H`` around each point, clipped to
    the domain. For a lattice node this is the ``2 ell x 2 ell`` block of cells around it."""
    t = points * coarse_n
    t = np.where(np.abs(t - np.rint(t)) < 1e-9, np.rint(t), t)
    lo = np.floor(t - ell - 1).astype(int) + 1
    hi = np.ceil(t + ell).astype(int)
    return np.clip(lo, 0, coarse_n), np.clip(hi, 0, coarse_n)


def build_patches(
    problem: FineProblem, points: np.ndarray, coarse_n: int, ell: int
) -> list[Patch]:
    """One :class:`Patch` per point: fine interior nodes strictly inside its cell box and
    the points strictly inside it (those on the box boundary are zero there anyway)."""
    if problem.fine_n % coarse_n:
        raise UserError(f"fine_n={problem.fine_n} must be a multiple of every coarse n")
    ratio = problem.fine_n // coarse_n
    lo, hi = patch_cells(points, coarse_n, ell)
    lo_f, hi_f = lo * ratio, hi * ratio
    x_lo, x_hi = lo / coarse_n, hi / coarse_n
    tol = 1e-12
    patches = []
    for i in range(points.shape[1]):
        block = problem.grid[lo_f[0, i] + 1 : hi_f[0, i], lo_f[1, i] + 1 : hi_f[1, i]]
        inside = np.all(
            (points > x_lo[:, i : i + 1] + tol) & (points < x_hi[:, i : i + 1] - tol), axis=0
        )
        members = np.flatnonzero(inside)
        dofs = block.ravel()
        patches.append(Patch(i, dofs[dofs >= 0], members, int(np.searchsorted(members, i))))
    return patches


def solve_patch(A: sp.csc_matrix, M: sp.csc_matrix, E: sp.csr_matrix, patch: Patch) -> np.ndarray:
    """Localized ``phi_i`` on its patch (values on ``patch.dofs``): the RPS problem with
    Dirichlet conditions on the patch boundary and all member constraints at once.

    With ``W = A_P^-1 E_P^T`` the Gram matrix is ``Theta = W^T M_P W`` (A symmetric): one
    block solve for W, then a single solve for ``phi_i = A_P^-1 M_P W Theta^-1 e_i``.
    """
    A_P = A[patch.dofs][:, patch.dofs]
    M_P = M[patch.dofs][:, patch.dofs]
    E_P = E[patch.members][:, patch.dofs]
    lu = splu_spd(A_P)
    W = lu.solve(E_P.T.toarray())
    MW = M_P @ W
    Theta = W.T @ MW
    e_i = np.zeros(patch.members.size)
    e_i[patch.position] = 1.0
    c = sla.solve(0.5 * (Theta + Theta.T), e_i, assume_a="pos")
    return lu.solve(MW @ c)


def solve_patch_chunk(
    A: sp.csc_matrix, M: sp.csc_matrix, E: sp.csr_matrix, chunk: list[Patch]
) -> list[np.ndarray]:
    """:func:`solve_patch` for each patch of ``chunk`` (one worker task, one BLAS thread:
    the patches are small and the parallelism is across processes)."""
    with threadpool_limits(1):
        return [solve_patch(A, M, E, patch) for patch in chunk]


def rps_local_basis(
    problem: FineProblem,
    E: sp.csr_matrix,
    points: np.ndarray,
    coarse_n: int,
    ell: int,
    workers: int = 2,
) -> sp.csc_matrix:
    """Localized RPS basis (n, N), sparse, each ``phi_i`` supported on its ``ell``-layer
    patch; patches are solved in ``workers`` processes with a progress bar."""
    # LIMITATION: every patch is factorized afresh: the coefficient differs from patch to
    # patch, so identical geometry cannot be reused; cost per patch grows like (ell H/h)^3.
    patches = build_patches(problem, points, coarse_n, ell)
    n_chunks = min(len(patches), max(1, 8 * workers))
    chunks = [list(c) for c in np.array_split(np.array(patches, dtype=object), n_chunks)]
    bar = dict(total=len(chunks), desc=f"RPS patches H=1/{coarse_n} ell={ell}", leave=False)
    if workers <= 1:
        results = [solve_patch_chunk(problem.A, problem.M, E, c) for c in tqdm(chunks, **bar)]
    else:
        from joblib import Parallel, delayed

        parallel = Parallel(n_jobs=workers, return_as="generator")
        jobs = (delayed(solve_patch_chunk)(problem.A, problem.M, E, c) for c in chunks)
        results = list(tqdm(parallel(jobs), **bar))

    values = [v for chunk in results for v in chunk]
    rows = np.concatenate([p.dofs for p in patches])
    cols = np.concatenate([np.full(p.dofs.size, p.index) for p in patches])
    shape = (problem.A.shape[0], points.shape[1])
    return sp.csc_matrix((np.concatenate(values), (rows, cols)), shape=shape)


def galerkin(problem: FineProblem, Phi: np.ndarray | sp.spmatrix, F: np.ndarray) -> np.ndarray:
    """Galerkin solution in span(Phi): ``Phi (Phi^T A Phi)^-1 Phi^T F`` (fine nodal values)."""
    AP = problem.A @ Phi
    K = Phi.T @ AP
    b = Phi.T @ F
    if sp.issparse(K):
        c = spla.spsolve(sp.csc_matrix(K), b)
    else:
        c = sla.solve(0.5 * (K + K.T), b, assume_a="pos")
    return np.asarray(Phi @ c).ravel()


def recover(Phi: np.ndarray | sp.spmatrix, values: np.ndarray) -> np.ndarray:
    """Interpolant ``sum_i values_i phi_i`` from point values (fine nodal values)."""
    return np.asarray(Phi @ values).ravel()


def coarse_p1_space(problem: FineProblem, coarse_n: int) -> sp.csc_matrix:
    """Coarse P1 hat functions of the H = 1/coarse_n mesh written in the fine basis (n, N_H):
    the prolongation of the nested meshes, so Galerkin with it is exact coarse FEM."""
    # LIMITATION: nested meshes only (fine_n a multiple of coarse_n), so that the hats are
    # exactly fine P1 functions and coarse FEM uses the fine-element coefficient exactly.
    if problem.fine_n % coarse_n:
        raise UserError(f"fine_n={problem.fine_n} must be a multiple of coarse n={coarse_n}")
    ticks = np.linspace(0.0, 1.0, coarse_n + 1)
    coarse = Basis(MeshTri.init_tensor(ticks, ticks), ElementTriP1())
    interior = coarse.complement_dofs(coarse.get_dofs())
    P = sp.csr_matrix(coarse.probes(problem.nodes))[:, interior]
    P.data[np.abs(P.data) < 1e-13] = 0.0
    P.eliminate_zeros()
    return sp.csc_matrix(P)


def fitted_rate(H: np.ndarray, err: np.ndarray) -> float:
    """Least-squares slope of ``log err`` against ``log H`` (the observed order)."""
    H, err = np.asarray(H, float), np.asarray(err, float)
    ok = err > 0
    if ok.sum() < 2:
        return math.nan
    return float(np.polyfit(np.log(H[ok]), np.log(err[ok]), 1)[0])
