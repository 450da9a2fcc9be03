"""Fine-scale P1 reference on the unit square, ``u = 0`` on the boundary.

Structured triangular mesh with ``fine_n`` cells per side (h = 1/fine_n), the coefficient
piecewise constant per fine element. Matrices are restricted to interior nodes, so every
vector here lives on the interior degrees of freedom.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import scipy.sparse as sp
from skfem import Basis, BilinearForm, ElementTriP1, LinearForm, MeshTri, asm
from skfem.helpers import dot, grad

from core.homogenization.solvers import Factorization, SolverName, factorize

log = logging.getLogger(__name__)


@BilinearForm
def weighted_stiffness(u, v, w):
    return w.a * dot(grad(u), grad(v))


@BilinearForm
def mass(u, v, _):
    return u * v


@dataclass
class FineProblem:
    """Fine P1 discretization of ``-div(a grad u) = f`` with a per-element coefficient.

    Attributes: ``A`` (coefficient-weighted stiffness) and ``M`` (consistent mass) on the
    interior nodes, ``nodes`` (2, n) their coordinates, ``grid`` (fine_n+1, fine_n+1) the
    interior index of each mesh vertex (-1 on the boundary), ``a`` the element values.
    """

    fine_n: int
    a: np.ndarray
    solver: SolverName = "auto"
    mesh: MeshTri = field(init=False, repr=False)
    basis: Basis = field(init=False, repr=False)

    def __post_init__(self) -> None:
        ticks = np.linspace(0.0, 1.0, self.fine_n + 1)
        self.mesh = MeshTri.init_tensor(ticks, ticks)
        self.basis = Basis(self.mesh, ElementTriP1(), intorder=2)
        nqp = self.basis.X.shape[1]
        A_full = asm(weighted_stiffness, self.basis, a=np.repeat(self.a[:, None], nqp, axis=1))
        M_full = asm(mass, self.basis)

        # interior numbering; boundary values are the Dirichlet zeros
        self.interior = self.basis.complement_dofs(self.basis.get_dofs())
        self.A = A_full[self.interior][:, self.interior].tocsc()
        self.M = M_full[self.interior][:, self.interior].tocsc()
        self.nodes = self.mesh.p[:, self.interior]
        ij = np.rint(self.mesh.p * self.fine_n).astype(int)
        self.grid = -np.ones((self.fine_n + 1, self.fine_n + 1), dtype=int)
        self.grid[ij[0, self.interior], ij[1, self.interior]] = np.arange(self.interior.size)

    @classmethod
    def from_field(
        cls, fine_n: int, field_fn: Callable[[np.ndarray], np.ndarray], solver: SolverName
    ) -> FineProblem:
        """Build the problem with ``a`` = ``field_fn`` at the fine element centroids."""
        ticks = np.linspace(0.0, 1.0, fine_n + 1)
        mesh = MeshTri.init_tensor(ticks, ticks)
        return cls(fine_n, field_fn(mesh.p[:, mesh.t].mean(axis=1)), solver)

    @property
    def h(self) -> float:
        """Fine mesh size (cell side)."""
        return 1.0 / self.fine_n

    @cached_property
    def factor(self) -> Factorization:
        """The factorization of ``A``, computed once and reused for every right-hand side."""
        log.info("factorizing the fine stiffness (%d unknowns)", self.A.shape[0])
        return factorize(self.A, self.solver)

    @cached_property
    def laplace(self) -> sp.csc_matrix:
        """Unweighted stiffness on the interior nodes, for the H1 seminorm."""
        full = asm(weighted_stiffness, self.basis, a=1.0)
        return full[self.interior][:, self.interior].tocsc()

    def load(self, f: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> np.ndarray:
        """Load vector ``(f, phi_j)`` on the interior nodes (quadrature of order 2)."""

        @LinearForm
        def rhs(v, w):
            return f(w.x[0], w.x[1]) * v

        return asm(rhs, self.basis)[self.interior]

    def solve(self, F: np.ndarray) -> np.ndarray:
        """Fine reference solution ``A^-1 F`` (nodal values on the interior nodes)."""
        return self.factor.solve(F)

    def evaluation(self, points: np.ndarray) -> sp.csr_matrix:
        """Point-evaluation matrix ``E`` (N, n): ``(E v)_i = v(x_i)`` for P1 ``v``."""
        full = sp.csr_matrix(self.basis.probes(points))
        return full[:, self.interior]

    def energy_norm(self, v: np.ndarray) -> float:
        """Energy norm ``sqrt(v^T A v) = ||a^1/2 grad v||_L2``."""
        return float(np.sqrt(max(v @ (self.A @ v), 0.0)))

    def l2_norm(self, v: np.ndarray) -> float:
        """L2 norm ``sqrt(v^T M v)``."""
        return float(np.sqrt(max(v @ (self.M @ v), 0.0)))

    def h1_seminorm(self, v: np.ndarray) -> float:
        """H1 seminorm ``||grad v||_L2``."""
        return float(np.sqrt(max(v @ (self.laplace @ v), 0.0)))

    def relative_errors(self, u: np.ndarray, u_approx: np.ndarray) -> dict[str, float]:
        """Relative energy, L2 and H1-seminorm errors of ``u_approx`` against ``u``."""
        e = u - u_approx
        return {
            "energy_rel": self.energy_norm(e) / self.energy_norm(u),
            "l2_rel": self.l2_norm(e) / self.l2_norm(u),
            "h1_rel": self.h1_seminorm(e) / self.h1_seminorm(u),
        }
