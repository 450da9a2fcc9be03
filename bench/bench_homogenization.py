"""Benchmarks of the homogenization family, on the machine's cores (2 here).

1. Fine solve at fine_n 512 and 1024: SuperLU against CHOLMOD (optional cholespy wheel) and
   pyamg-preconditioned CG, plus the many-right-hand-side case that the global RPS basis
   needs (961 solves at fine_n 256). Each measurement runs in a fresh process, so its peak
   resident memory is its own.
2. Localized RPS basis: time against the number of patches at a fixed patch size, and the
   trig K = 5 problem at h = 1/256, H = 1/32 for several ell (error and time).
3. A new source in the coarse space against the fine solve it replaces.

Writes results/homogenization/bench.json and prints the ratios.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "results" / "homogenization" / "bench.json"


def trig_problem(fine_n: int, solver: str):
    from core.homogenization.coefficients import CoefficientSpec, coefficient_field
    from core.homogenization.fine import FineProblem

    spec = CoefficientSpec(kind="trig", K=5)
    return FineProblem.from_field(fine_n, lambda x: coefficient_field(spec, x), solver)


def source(x, y):
    return np.cos(3 * x + y) + np.sin(3 * y) + np.sin(7 * x - 5 * y)


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fine_solve_case(fine_n: int, solver: str, n_rhs: int) -> dict:
    from core.homogenization.solvers import factorize

    p = trig_problem(fine_n, "splu")
    F = p.load(source)
    start = time.perf_counter()
    fac = factorize(p.A, solver)
    t_factor = time.perf_counter() - start
    start = time.perf_counter()
    u = fac.solve(F if n_rhs == 1 else np.repeat(F[:, None], n_rhs, axis=1))
    t_solve = time.perf_counter() - start
    residual = np.linalg.norm(p.A @ (u if n_rhs == 1 else u[:, 0]) - F) / np.linalg.norm(F)
    return {
        "fine_n": fine_n,
        "solver": solver,
        "n_rhs": n_rhs,
        "factor_s": t_factor,
        "solve_s": t_solve,
        "total_s": t_factor + t_solve,
        "residual": residual,
        "peak_mib": peak_mib(),
    }


def local_basis_case(fine_n: int, coarse_n: int, ell: int) -> dict:
    from core.homogenization.points import lattice
    from core.homogenization.rps import galerkin, rps_local_basis

    p = trig_problem(fine_n, "auto")
    F = p.load(source)
    u = p.solve(F)
    X = lattice(coarse_n)
    E = p.evaluation(X)
    start = time.perf_counter()
    Phi = rps_local_basis(p, E, X, coarse_n, ell, workers=2)
    t_basis = time.perf_counter() - start
    err = p.relative_errors(u, galerkin(p, Phi, F))["energy_rel"]
    return {
        "fine_n": fine_n,
        "coarse_n": coarse_n,
        "ell": ell,
        "patches": X.shape[1],
        "basis_s": t_basis,
        "per_patch_ms": 1e3 * t_basis / X.shape[1],
        "energy_rel": err,
        "peak_mib": peak_mib(),
    }


def new_source_case(fine_n: int, coarse_n: int, ell: int) -> dict:
    import scipy.linalg as sla
    import scipy.sparse.linalg as spla

    from core.homogenization.points import lattice
    from core.homogenization.rps import rps_local_basis

    p = trig_problem(fine_n, "auto")
    X = lattice(coarse_n)
    Phi = rps_local_basis(p, p.evaluation(X), X, coarse_n, ell, workers=2)
    K = (Phi.T @ (p.A @ Phi)).toarray()
    chol = sla.cho_factor(K)
    p.factor  # noqa: B018 (factorize the fine matrix before timing its solve)
    sources = [lambda x, y, k=k: np.sin(k * x) * np.cos((k + 1) * y) for k in range(1, 11)]
    loads = [p.load(f) for f in sources]

    start = time.perf_counter()
    for F in loads:
        u_H = Phi @ sla.cho_solve(chol, Phi.T @ F)
    t_coarse = (time.perf_counter() - start) / len(loads)
    start = time.perf_counter()
    for F in loads:
        u = p.solve(F)
    t_fine = (time.perf_counter() - start) / len(loads)
    start = time.perf_counter()
    spla.splu(p.A.tocsc()).solve(loads[0])
    t_fine_fresh = time.perf_counter() - start
    del u, u_H
    return {
        "fine_n": fine_n,
        "coarse_n": coarse_n,
        "ell": ell,
        "coarse_solve_ms": 1e3 * t_coarse,
        "fine_solve_ms": 1e3 * t_fine,
        "fine_factor_and_solve_ms": 1e3 * t_fine_fresh,
        "speedup_vs_factored": t_fine / t_coarse,
        "speedup_vs_fresh": t_fine_fresh / t_coarse,
    }


CASES = {
    "fine_solve": fine_solve_case,
    "local_basis": local_basis_case,
    "new_source": new_source_case,
}


def isolated(name: str, *args) -> dict:
    """Run case ``name`` in a fresh interpreter (own peak memory, free to start its own
    worker processes) and return its result dict."""
    cmd = [sys.executable, __file__, "--case", name, json.dumps(args)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    from core.homogenization.solvers import cholmod_available

    solvers = ["splu", "amg"] + (["cholmod"] if cholmod_available() else [])
    report: dict[str, list[dict]] = {"fine_solve": [], "local_basis": [], "new_source": []}

    print("== fine solve (factorize + solve), trig K=5")
    for fine_n, n_rhs in ((512, 1), (1024, 1), (256, 961)):
        for solver in solvers:
            if solver == "amg" and n_rhs > 1:
                continue
            r = isolated("fine_solve", fine_n, solver, n_rhs)
            report["fine_solve"].append(r)
            print(
                f"  fine_n={fine_n:5d} rhs={n_rhs:4d} {solver:8s} factor {r['factor_s']:.2f} s"
                f" solve {r['solve_s']:.2f} s peak {r['peak_mib']:.0f} MiB"
            )
    for fine_n, n_rhs in ((512, 1), (1024, 1), (256, 961)):
        rows = {
            r["solver"]: r
            for r in report["fine_solve"]
            if r["fine_n"] == fine_n and r["n_rhs"] == n_rhs
        }
        for other in rows:
            if other != "splu":
                ratio = rows["splu"]["total_s"] / rows[other]["total_s"]
                print(f"  ratio splu/{other} at fine_n={fine_n} rhs={n_rhs}: {ratio:.2f}")

    print("== localized basis: time against number of patches (patch of 2 ell H, H/h = 8)")
    for coarse_n in (8, 16, 32, 64):
        r = isolated("local_basis", 8 * coarse_n, coarse_n, 3)
        report["local_basis"].append(r)
        print(
            f"  {r['patches']:5d} patches: {r['basis_s']:.2f} s ({r['per_patch_ms']:.1f} ms/patch)"
            f" peak {r['peak_mib']:.0f} MiB"
        )
    print("== localized basis at h=1/256, H=1/32 (target: energy error <= 0.02 in <= 13 s)")
    for ell in (4, 5, 6):
        r = isolated("local_basis", 256, 32, ell)
        report["local_basis"].append(r)
        print(
            f"  ell={ell}: {r['basis_s']:.1f} s, energy error {r['energy_rel']:.4f},"
            f" peak {r['peak_mib']:.0f} MiB"
        )

    print("== one new source in the coarse space against the fine solve (h=1/256, H=1/32)")
    r = isolated("new_source", 256, 32, 5)
    report["new_source"].append(r)
    print(
        f"  coarse {r['coarse_solve_ms']:.2f} ms, fine (factored) {r['fine_solve_ms']:.1f} ms,"
        f" fine (factorize+solve) {r['fine_factor_and_solve_ms']:.0f} ms:"
        f" ratio {r['speedup_vs_factored']:.1f}x / {r['speedup_vs_fresh']:.0f}x"
    )

    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--case":
        print(json.dumps(CASES[sys.argv[2]](*json.loads(sys.argv[3]))))
    else:
        main()
