"""Homogenization experiments: RPS convergence, localization, contrast, scattered points and
recovery, each against the coarse P1 baseline and the fine P1 reference."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from core.errors import UserError
from core.homogenization import plots
from core.homogenization.coefficients import CoefficientSpec, coefficient_field, contrast
from core.homogenization.fine import FineProblem
from core.homogenization.points import PointsSpec, fill_distance, point_set
from core.homogenization.rps import (
    coarse_p1_space,
    fitted_rate,
    galerkin,
    recover,
    rps_global_basis,
    rps_local_basis,
)
from core.homogenization.solvers import SolverName
from core.tracking import Tracker

log = logging.getLogger(__name__)


@dataclass
class SourceSpec:
    """Right-hand side f: ``trig`` is cos(3x+y) + sin(3y) + sin(7x-5y), ``one`` is f = 1."""

    kind: Literal["trig", "one"] = "trig"


def source_function(spec: SourceSpec) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """The source ``f(x, y)`` named by ``spec`` (vectorized over point arrays)."""
    if spec.kind == "trig":
        return lambda x, y: np.cos(3 * x + y) + np.sin(3 * y) + np.sin(7 * x - 5 * y)
    return lambda x, y: np.ones_like(x)


def check_sizes(fine_n: int, coarse_ns: list[int]) -> None:
    """Raise UserError unless every coarse n divides fine_n and leaves >= 2 fine cells."""
    for n in coarse_ns:
        if n < 2 or fine_n % n or fine_n // n < 2:
            raise UserError(
                f"coarse n={n} must divide fine_n={fine_n} with at least 2 fine cells per "
                "coarse cell (use powers of two, e.g. fine_n=256 coarse_ns=[4,8,16,32])"
            )


def fine_problem(
    coefficient: CoefficientSpec, fine_n: int, solver: SolverName, seed: int, tracker: Tracker
) -> FineProblem:
    """Assemble the fine problem, save a picture of the coefficient and record its contrast."""
    start = time.perf_counter()
    problem = FineProblem.from_field(
        fine_n, lambda x: coefficient_field(coefficient, x, seed), solver
    )
    ratio = contrast(problem.a)
    tracker.record({"coefficient/contrast": ratio, "time/assemble_s": time.perf_counter() - start})
    log.info("fine mesh h=1/%d, %s coefficient, contrast %.3g", fine_n, coefficient.kind, ratio)

    side = min(fine_n, 256)
    ticks = (np.arange(side) + 0.5) / side
    X, Y = np.meshgrid(ticks, ticks, indexing="ij")
    values = coefficient_field(coefficient, np.vstack([X.ravel(), Y.ravel()]), seed)
    fig = plots.coefficient_figure(
        values.reshape(side, side), f"{coefficient.kind}, contrast {ratio:.3g}"
    )
    stats = {"kind": coefficient.kind, "contrast": ratio, "min": float(problem.a.min())}
    tracker.figure("coefficient", fig, {**stats, "max": float(problem.a.max())})
    return problem


def reference_solution(problem: FineProblem, source: SourceSpec, tracker: Tracker):
    """Load vector and fine reference solution, timing the (factorize + solve) once."""
    F = problem.load(source_function(source))
    start = time.perf_counter()
    u = problem.solve(F)
    tracker.record({"time/fine_solve_s": time.perf_counter() - start})
    return F, u


def error_row(problem: FineProblem, u: np.ndarray, u_approx: np.ndarray, **keys) -> dict:
    """One result row: ``keys`` then relative energy, L2 and H1-seminorm errors."""
    return {**keys, **problem.relative_errors(u, u_approx)}


def patch_layers(ell: int | None, coarse_n: int) -> int:
    """Patch layers for resolution H = 1/coarse_n: ``ell`` when given, else
    ``ceil(log2(1/H))``, the ``ell ~ ln(1/H)`` scaling under which localization keeps O(H)."""
    return ell if ell is not None else max(1, math.ceil(math.log2(coarse_n)))


def rates(rows: list[dict], method: str, prefix: str) -> dict[str, float]:
    """Fitted energy and L2 slopes against H of ``method``'s rows, as summary keys."""
    sel = [r for r in rows if r["method"] == method]
    H = [1.0 / r["coarse_n"] for r in sel]
    return {
        f"{prefix}/energy_rate": fitted_rate(H, [r["energy_rel"] for r in sel]),
        f"{prefix}/l2_rate": fitted_rate(H, [r["l2_rel"] for r in sel]),
    }


def rps_convergence(
    *,
    coefficient: CoefficientSpec,
    fine_n: int,
    coarse_ns: list[int],
    ell: int | None,
    points: PointsSpec,
    source: SourceSpec,
    solver: SolverName = "auto",
    workers: int = 2,
    seed: int = 0,
    tracker: Tracker,
) -> dict[str, float]:
    """Relative energy and L2 errors against H of the global and localized RPS Galerkin
    solutions (``ell`` layers, None: :func:`patch_layers`) and of coarse P1 FEM, with fitted
    log-log slopes (rates in powers of H)."""
    check_sizes(fine_n, coarse_ns)
    problem = fine_problem(coefficient, fine_n, solver, seed, tracker)
    F, u = reference_solution(problem, source, tracker)

    rows: list[dict] = []
    for step, n in enumerate(sorted(coarse_ns)):
        X = point_set(points, n, fine_n, seed)
        E = problem.evaluation(X)

        start = time.perf_counter()
        u_global = galerkin(problem, rps_global_basis(problem, E), F)
        t_global = time.perf_counter() - start
        layers = patch_layers(ell, n)
        start = time.perf_counter()
        Phi_local = rps_local_basis(problem, E, X, n, layers, workers)
        t_local = time.perf_counter() - start
        u_local = galerkin(problem, Phi_local, F)
        u_fem = galerkin(problem, coarse_p1_space(problem, n), F)

        new = [
            error_row(problem, u, u_global, method="rps_global", coarse_n=n, time_s=t_global),
            error_row(problem, u, u_local, method="rps_local", coarse_n=n, time_s=t_local),
            error_row(problem, u, u_fem, method="fem", coarse_n=n, time_s=math.nan),
        ]
        for r in new:
            r.update(ell=layers if r["method"] == "rps_local" else 0, n_points=X.shape[1])
        rows += new
        tracker.log({f"{r['method']}/energy_rel": r["energy_rel"] for r in new}, step=step)
        log.info(
            "H=1/%d: energy error global %.3g (%.1f s), local ell=%d %.3g (%.1f s), fem %.3g",
            n,
            new[0]["energy_rel"],
            t_global,
            layers,
            new[1]["energy_rel"],
            t_local,
            new[2]["energy_rel"],
        )

    tracker.table("convergence", rows)
    fig = plots.loglog_figure(
        rows,
        "coarse_n",
        "energy_rel",
        "method",
        "1/H",
        "relative energy error",
        reference_slope=-1.0,
    )
    tracker.figure("convergence", fig)
    result = {
        **rates(rows, "rps_global", "rps"),
        **rates(rows, "rps_local", "rps_local"),
        **rates(rows, "fem", "fem"),
    }
    finest = max(coarse_ns)
    for r in rows:
        if r["coarse_n"] == finest:
            result[f"{r['method']}/energy_rel_finest"] = r["energy_rel"]
            if r["method"].startswith("rps"):
                result[f"time/{r['method']}_basis_s"] = r["time_s"]
    return result


def rps_localization(
    *,
    coefficient: CoefficientSpec,
    fine_n: int,
    coarse_ns: list[int],
    ells: list[int],
    points: PointsSpec,
    source: SourceSpec,
    solver: SolverName = "auto",
    workers: int = 2,
    seed: int = 0,
    tracker: Tracker,
) -> dict[str, float]:
    """Energy error of the localized basis against the patch layers ``ell`` for several H,
    the smallest ell within 10% of the global basis and the per-layer decay of the
    localization error ``||u_local - u_global||_a / ||u||_a``."""
    check_sizes(fine_n, coarse_ns)
    problem = fine_problem(coefficient, fine_n, solver, seed, tracker)
    F, u = reference_solution(problem, source, tracker)

    rows: list[dict] = []
    result: dict[str, float] = {}
    for n in sorted(coarse_ns):
        X = point_set(points, n, fine_n, seed)
        E = problem.evaluation(X)
        u_global = galerkin(problem, rps_global_basis(problem, E), F)
        e_global = problem.relative_errors(u, u_global)["energy_rel"]
        rows.append(error_row(problem, u, u_global, method="rps_global", coarse_n=n, ell=0))
        within, decay_ell, decay_err = math.nan, [], []
        for ell in sorted(ells):
            start = time.perf_counter()
            u_local = galerkin(problem, rps_local_basis(problem, E, X, n, ell, workers), F)
            row = error_row(problem, u, u_local, method="rps_local", coarse_n=n, ell=ell)
            loc = problem.energy_norm(u_local - u_global) / problem.energy_norm(u)
            row.update(localization_rel=loc, time_s=time.perf_counter() - start)
            rows.append(row)
            log.info(
                "H=1/%d ell=%d: energy error %.3g (global %.3g)",
                n,
                ell,
                row["energy_rel"],
                e_global,
            )
            if math.isnan(within) and row["energy_rel"] <= 1.1 * e_global:
                within = ell
            if loc > 1e-12:
                decay_ell.append(ell)
                decay_err.append(loc)
        # per-layer decay factor exp(-rate) of the localization error
        rate = -np.polyfit(decay_ell, np.log(decay_err), 1)[0] if len(decay_ell) > 1 else np.nan
        result[f"rps/ell_within_10pct_H{n}"] = within
        result[f"rps/localization_decay_H{n}"] = float(rate)

    finest = max(coarse_ns)
    result["rps/ell_within_10pct"] = result[f"rps/ell_within_10pct_H{finest}"]
    result["rps/localization_decay"] = result[f"rps/localization_decay_H{finest}"]
    tracker.table("localization", rows)
    local = [dict(r, H=f"1/{r['coarse_n']}") for r in rows if r["method"] == "rps_local"]
    fig = plots.semilogy_figure(
        local, "ell", "energy_rel", "H", "patch layers ell", "relative energy error"
    )
    tracker.figure("localization", fig)
    fig = plots.semilogy_figure(
        local, "ell", "localization_rel", "H", "patch layers ell", "||u_loc - u_glob||_a / ||u||_a"
    )
    tracker.figure("localization_error", fig)
    return result


def rps_contrast(
    *,
    coefficient: CoefficientSpec,
    contrasts: list[float],
    fine_n: int,
    coarse_ns: list[int],
    points: PointsSpec,
    source: SourceSpec,
    solver: SolverName = "auto",
    seed: int = 0,
    tracker: Tracker,
) -> dict[str, float]:
    """Energy error of the global RPS basis and coarse FEM against the coefficient contrast
    (the ``contrast`` key of ``coefficient`` swept over ``contrasts``)."""
    check_sizes(fine_n, coarse_ns)
    rows: list[dict] = []
    for step, value in enumerate(contrasts):
        spec = replace(coefficient, contrast=float(value))
        problem = FineProblem.from_field(
            fine_n, lambda x, s=spec: coefficient_field(s, x, seed), solver
        )
        if step == len(contrasts) - 1:
            fine_problem(spec, fine_n, solver, seed, tracker)  # picture of the hardest case
        F = problem.load(source_function(source))
        u = problem.solve(F)
        for n in sorted(coarse_ns):
            E = problem.evaluation(point_set(points, n, fine_n, seed))
            u_rps = galerkin(problem, rps_global_basis(problem, E), F)
            u_fem = galerkin(problem, coarse_p1_space(problem, n), F)
            keys = {"coarse_n": n, "contrast": value}
            rows += [
                error_row(problem, u, u_rps, method="rps_global", **keys),
                error_row(problem, u, u_fem, method="fem", **keys),
            ]
            log.info(
                "contrast %.0e H=1/%d: energy error rps %.3g fem %.3g",
                value,
                n,
                rows[-2]["energy_rel"],
                rows[-1]["energy_rel"],
            )
        tracker.log({"contrast/log10": math.log10(value)}, step=step)

    tracker.table("contrast", rows)
    finest = max(coarse_ns)
    sel = [dict(r, series=f"{r['method']} H=1/{r['coarse_n']}") for r in rows]
    fig = plots.loglog_figure(
        sel, "contrast", "energy_rel", "series", "contrast", "relative energy error"
    )
    tracker.figure("contrast_errors", fig)
    result: dict[str, float] = {}
    for method, key in (("rps_global", "rps"), ("fem", "fem")):
        errs = [r["energy_rel"] for r in rows if r["method"] == method and r["coarse_n"] == finest]
        result[f"{key}/energy_rel_min"] = min(errs)
        result[f"{key}/energy_rel_max"] = max(errs)
        result[f"{key}/energy_rel_growth"] = max(errs) / min(errs)
    return result


def rps_scattered(
    *,
    coefficient: CoefficientSpec,
    fine_n: int,
    coarse_ns: list[int],
    point_sets: list[PointsSpec],
    ell: int,
    source: SourceSpec,
    solver: SolverName = "auto",
    workers: int = 2,
    seed: int = 0,
    tracker: Tracker,
) -> dict[str, float]:
    """Energy error of the global (and ``ell``-localized) RPS basis for lattice, jittered,
    random and anisotropic point sets at nominal resolution H, with their fill distances."""
    check_sizes(fine_n, coarse_ns)
    problem = fine_problem(coefficient, fine_n, solver, seed, tracker)
    F, u = reference_solution(problem, source, tracker)

    rows: list[dict] = []
    for n in sorted(coarse_ns):
        fem = error_row(
            problem,
            u,
            galerkin(problem, coarse_p1_space(problem, n), F),
            method="fem",
            points="lattice",
            coarse_n=n,
        )
        rows.append({**fem, "fill_distance": math.nan, "n_points": (n - 1) ** 2})
        for spec in point_sets:
            label = spec.kind if spec.kind != "anisotropic" else f"anisotropic_{spec.aspect:g}"
            X = point_set(spec, n, fine_n, seed)
            E = problem.evaluation(X)
            keys = {"points": label, "coarse_n": n, "n_points": X.shape[1]}
            keys["fill_distance"] = fill_distance(X, resolution=min(fine_n, 256))
            u_glob = galerkin(problem, rps_global_basis(problem, E), F)
            rows.append(error_row(problem, u, u_glob, method="rps_global", **keys))
            if ell > 0:
                u_loc = galerkin(problem, rps_local_basis(problem, E, X, n, ell, workers), F)
                rows.append(error_row(problem, u, u_loc, method="rps_local", **keys))
            log.info(
                "H=1/%d %s (%d points, fill %.3g H): energy error %.3g",
                n,
                label,
                X.shape[1],
                keys["fill_distance"] * n,
                rows[-1]["energy_rel"],
            )

    tracker.table("scattered", rows)
    glob = [dict(r, series=r["points"]) for r in rows if r["method"] == "rps_global"]
    glob += [dict(r, series="fem (lattice)") for r in rows if r["method"] == "fem"]
    fig = plots.loglog_figure(
        glob,
        "coarse_n",
        "energy_rel",
        "series",
        "1/H",
        "relative energy error",
        reference_slope=-1.0,
    )
    tracker.figure("scattered", fig)
    finest = max(coarse_ns)
    errs = {r["series"]: r["energy_rel"] for r in glob if r["coarse_n"] == finest}
    result = {f"rps/energy_rel_{k}": v for k, v in errs.items() if not k.startswith("fem")}
    rps_errs = [v for k, v in errs.items() if not k.startswith("fem")]
    result["rps/energy_rel_spread"] = max(rps_errs) / min(rps_errs)
    result["fem/energy_rel"] = errs["fem (lattice)"]
    for label in dict.fromkeys(r["series"] for r in glob):
        sel = [r for r in glob if r["series"] == label]
        H = [1 / r["coarse_n"] for r in sel]
        key = label.replace(" (lattice)", "")
        result[f"rps/energy_rate_{key}" if key != "fem" else "fem/energy_rate"] = fitted_rate(
            H, [r["energy_rel"] for r in sel]
        )
    return result


def rps_recovery(
    *,
    coefficient: CoefficientSpec,
    fine_n: int,
    coarse_ns: list[int],
    noise_levels: list[float],
    ell: int,
    points: PointsSpec,
    source: SourceSpec,
    solver: SolverName = "auto",
    workers: int = 2,
    seed: int = 0,
    tracker: Tracker,
) -> dict[str, float]:
    """Recovery of u from its point values, ``sum_i u(x_i) phi_i``, against H and with
    Gaussian measurement noise of standard deviation ``noise * max|u(x_i)|``; baseline:
    the coarse P1 interpolant of the same values."""
    check_sizes(fine_n, coarse_ns)
    problem = fine_problem(coefficient, fine_n, solver, seed, tracker)
    _, u = reference_solution(problem, source, tracker)
    rng = np.random.default_rng(seed)

    rows: list[dict] = []
    for n in sorted(coarse_ns):
        X = point_set(points, n, fine_n, seed)
        E = problem.evaluation(X)
        bases = {"rps_global": rps_global_basis(problem, E)}
        if ell > 0:
            bases["rps_local"] = rps_local_basis(problem, E, X, n, ell, workers)
        if points.kind == "lattice":
            bases["fem"] = coarse_p1_space(problem, n)
        values = E @ u
        for noise in noise_levels:
            noisy = values + noise * np.abs(values).max() * rng.standard_normal(values.size)
            for method, Phi in bases.items():
                rows.append(
                    error_row(
                        problem, u, recover(Phi, noisy), method=method, coarse_n=n, noise=noise
                    )
                )
        log.info(
            "H=1/%d: noise-free recovery energy error %s",
            n,
            ", ".join(
                f"{r['method']} {r['energy_rel']:.3g}"
                for r in rows
                if r["coarse_n"] == n and r["noise"] == noise_levels[0]
            ),
        )

    tracker.table("recovery", rows)
    clean = [r for r in rows if r["noise"] == min(noise_levels)]
    fig = plots.loglog_figure(
        clean,
        "coarse_n",
        "energy_rel",
        "method",
        "1/H",
        "relative energy error of recovery",
        reference_slope=-1.0,
    )
    tracker.figure("recovery", fig)
    noisy = [
        dict(r, series=f"{r['method']} noise {r['noise']:g}")
        for r in rows
        if r["method"] == "rps_global"
    ]
    fig = plots.loglog_figure(
        noisy, "coarse_n", "energy_rel", "series", "1/H", "relative energy error of recovery"
    )
    tracker.figure("recovery_noise", fig)
    result: dict[str, float] = {}
    for method in dict.fromkeys(r["method"] for r in clean):
        key = "rps" if method == "rps_global" else method
        sel = [r for r in clean if r["method"] == method]
        H = [1 / r["coarse_n"] for r in sel]
        result[f"{key}/recovery_energy_rate"] = fitted_rate(H, [r["energy_rel"] for r in sel])
        result[f"{key}/recovery_l2_rate"] = fitted_rate(H, [r["l2_rel"] for r in sel])
    finest = max(coarse_ns)
    for r in rows:
        if r["coarse_n"] == finest and r["method"] == "rps_global":
            result[f"rps/recovery_energy_rel_noise{r['noise']:g}"] = r["energy_rel"]
    return result
