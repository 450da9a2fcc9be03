"""Sparse symmetric positive definite solvers behind one interface: factorize once, solve many.

``splu`` (scipy's SuperLU) is always there; ``cholmod`` uses the self-contained CHOLMOD of
the optional ``cholespy`` wheel and is 2-3x faster on many right-hand sides (see
bench/bench_homogenization_solvers.py); ``amg`` is pyamg smoothed aggregation as a
preconditioner for conjugate gradients, for single solves on the largest meshes.
"""

from __future__ import annotations

import logging
from typing import Literal, Protocol

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from core.errors import UserError

log = logging.getLogger(__name__)

SolverName = Literal["auto", "splu", "cholmod", "amg"]


class Factorization(Protocol):
    """A factorized matrix: ``solve(b)`` returns ``A^-1 b`` for a vector or an (n, k) block."""

    def solve(self, b: np.ndarray) -> np.ndarray: ...


def cholmod_available() -> bool:
    """True when the optional CHOLMOD wheel (``cholespy``) can be imported."""
    try:
        import cholespy  # noqa: F401
    except ImportError:
        return False
    return True


class SuperLU:
    """SuperLU in symmetric mode: minimum-degree ordering on ``A^T + A``, diagonal pivots."""

    def __init__(self, A: sp.spmatrix) -> None:
        self.lu = spla.splu(
            sp.csc_matrix(A),
            permc_spec="MMD_AT_PLUS_A",
            diag_pivot_thresh=0.0,
            options={"SymmetricMode": True},
        )

    def solve(self, b: np.ndarray) -> np.ndarray:
        """Return ``A^-1 b`` (same shape as ``b``)."""
        return self.lu.solve(np.asarray(b, dtype=float))


class Cholmod:
    """Supernodal sparse Cholesky (CHOLMOD, via the optional ``cholespy`` package)."""

    def __init__(self, A: sp.spmatrix) -> None:
        from cholespy import CholeskySolverD, MatrixType

        coo = sp.coo_matrix(A)
        self.n = A.shape[0]
        self.chol = CholeskySolverD(
            self.n, coo.row.astype(np.int32), coo.col.astype(np.int32), coo.data, MatrixType.COO
        )

    def solve(self, b: np.ndarray) -> np.ndarray:
        """Return ``A^-1 b`` (same shape as ``b``)."""
        rhs = np.ascontiguousarray(b, dtype=float)
        x = np.empty_like(rhs)
        self.chol.solve(rhs, x)
        return x


class AlgebraicMultigrid:
    """Conjugate gradients preconditioned by one smoothed-aggregation AMG V-cycle."""

    def __init__(self, A: sp.spmatrix, rtol: float = 1e-10) -> None:
        import pyamg

        self.A = sp.csr_matrix(A)
        self.rtol = rtol
        self.ml = pyamg.smoothed_aggregation_solver(self.A, symmetry="symmetric")

    def solve(self, b: np.ndarray) -> np.ndarray:
        """Return ``A^-1 b`` to relative residual ``rtol`` (columns solved one by one)."""
        b = np.asarray(b, dtype=float)
        if b.ndim == 1:
            return self.ml.solve(b, tol=self.rtol, accel="cg", maxiter=200)
        return np.column_stack([self.solve(col) for col in b.T])


def factorize(A: sp.spmatrix, solver: SolverName = "auto") -> Factorization:
    """Factorize the SPD matrix ``A`` with ``solver``; ``auto`` is CHOLMOD when installed,
    else SuperLU. Returns an object whose ``solve`` applies ``A^-1``."""
    if solver == "auto":
        solver = "cholmod" if cholmod_available() else "splu"
    if solver == "splu":
        return SuperLU(A)
    if solver == "cholmod":
        if not cholmod_available():
            raise UserError("solver=cholmod needs the optional package: pip install cholespy")
        return Cholmod(A)
    if solver == "amg":
        return AlgebraicMultigrid(A)
    raise UserError(f"unknown solver {solver!r}; use auto, splu, cholmod or amg")
