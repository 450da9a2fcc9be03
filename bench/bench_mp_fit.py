"""Benchmark: our Marchenko-Pastur bulk fit against WeightWatcher's MP fit.

Times the bulk fit of every weight matrix of a 784-3000-3000-3000-10 dense net (about 20M
parameters, N(0, 1/fan_in) init, fixed seed) for both methods in the same run, with the
spectra alone as the floor, and measures the noise-level error |sigma_hat / sigma - 1| of
both on synthetic matrices with a known entry std (aspect ratios 0.1-1, sizes 500-3000,
with and without strong planted spikes).

What is timed (best of ``REPEATS`` interleaved rounds):

- ``spectra``: :func:`core.spectral.mp.gram_eigenvalues` of each matrix (float32 Gram
  product + symmetric eigenvalue solve), the floor of any fit.
- ``ours``: the whole fit, spectra + ``fit_mp_bulk`` on ``s = sqrt(lam N)``.
- ``ww_fit``: WeightWatcher's ``WeightWatcher.mp_fit`` (what ``analyze(mp_fit=True)``
  calls per layer through ``apply_mp_fit``) on the same eigenvalues ``s**2``, with
  ``plot=False``, ``savefig=False``, ``rescale=True`` (its only setting), ``rf=1``. Its
  eigenvalues are handed to it for free, so this is the fit alone.
- ``ww_spectra``: WeightWatcher's own spectra, ``WeightWatcher.combined_eigenvalues`` with
  its default parameters (float64 SVD of each matrix, values only), for context.

``analyze`` itself is not timed on the big net: on top of the spectra and the MP fit it
always runs a power-law fit of each ESD (``apply_powerlaw``, not switchable) and the norm
metrics, which have nothing to do with the MP fit. It is run once on a small net only to
check that the direct ``mp_fit`` call returns the same ``sigma_mp`` as ``analyze``.

BLAS runs single-threaded by default (``BENCH_THREADS``) because the bench machine is
shared: multi-threaded LAPACK timings on an oversubscribed machine vary by 10x between runs.
WeightWatcher's fit is single-threaded Python and scikit-learn either way.

Run: ``.venv/bin/python bench/bench_mp_fit.py`` (about 2-3 minutes on 2 cores); writes
``results/pruning/bench_mp_fit.json``.
"""

from __future__ import annotations

import os

THREADS = os.environ.get("BENCH_THREADS", "1")
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, THREADS)
os.environ.setdefault("WANDB_MODE", "disabled")

import json  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import scipy.linalg  # noqa: E402
import torch  # noqa: E402
from tqdm import tqdm  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.spectral.mp import fit_mp_bulk, gram_eigenvalues  # noqa: E402

# WeightWatcher logs a warning per import and per layer; keep the output readable.
logging.getLogger("weightwatcher").setLevel(logging.ERROR)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import weightwatcher as ww  # noqa: E402
    from weightwatcher.constants import DEFAULT_PARAMS  # noqa: E402
logging.getLogger("weightwatcher").setLevel(logging.ERROR)

OUT = ROOT / "results" / "pruning" / "bench_mp_fit.json"
WIDTHS = (784, 3000, 3000, 3000, 10)
CHECK_WIDTHS = (784, 1000, 500, 10)
REPEATS = 2
SEED = 0

# Synthetic matrices with a known entry std: (m, n), gamma = min / max from 0.1 to 1.
SHAPES = [(500, 500), (1500, 1500), (1000, 2000), (3000, 750), (2000, 3000), (300, 3000)]
# Planted spikes as multiples of the singular-value edge sigma (sqrt(m) + sqrt(n)).
SPIKE_FACTORS = (1.5, 2.0, 4.0, 10.0, 30.0)


def dense_net(widths: tuple[int, ...], seed: int) -> torch.nn.Sequential:
    """Plain ReLU net of nn.Linear layers with weights N(0, 1/fan_in) and zero biases."""
    gen = torch.Generator().manual_seed(seed)
    layers: list[torch.nn.Module] = []
    for fan_in, fan_out in zip(widths[:-1], widths[1:], strict=True):
        lin = torch.nn.Linear(fan_in, fan_out)
        with torch.no_grad():
            lin.weight.copy_(torch.randn(fan_out, fan_in, generator=gen) / np.sqrt(fan_in))
            lin.bias.zero_()
        layers += [lin, torch.nn.ReLU()]
    return torch.nn.Sequential(*layers[:-1])


def net_weights(net: torch.nn.Sequential) -> list[np.ndarray]:
    """Weight matrices (out x in, float32) of the Linear layers of ``net``."""
    return [m.weight.detach().numpy() for m in net if isinstance(m, torch.nn.Linear)]


def ww_mp_fit(watcher: ww.WeightWatcher, evals: np.ndarray, m: int, n: int) -> dict:
    """WeightWatcher's MP fit of one layer from its eigenvalues ``evals = s**2``.

    Returns its ``sigma_mp`` and ``W_scale`` and the entry std they imply. WeightWatcher
    rescales the ESD to mean one, ``x = W_scale**2 s**2`` with
    ``W_scale = sqrt(p / sum s**2)``, and fits MP(sigma_mp**2, 1/Q), Q = N / M, to ``x``
    (for Q = 1 the quarter circle to ``sqrt(x)``, same scale). Our eigenvalues are
    ``lam = s**2 / N`` with MP(sigma**2, gamma), so ``sigma**2 = sigma_mp**2 / (W_scale**2 N)``:
    the entry std is ``sigma_mp / (W_scale sqrt(N))``.
    """
    n_big, p = max(m, n), min(m, n)
    args = ("layer", 0, 0, False, False, "ww-img", "royalblue", 0.6, True, evals)
    spikes, sigma_mp, _, _, _, w_scale = watcher.mp_fit(evals, n_big, p, 1.0, *args)
    return {
        "sigma_mp": float(sigma_mp),
        "W_scale": float(w_scale),
        "sigma_hat": float(sigma_mp / (w_scale * np.sqrt(n_big))),
        "spikes": int(spikes),
    }


def time_round(weights: list[np.ndarray], watcher: ww.WeightWatcher) -> dict:
    """One timing round over all matrices; returns seconds per method and the fits."""
    t: dict[str, float] = {}
    fits: dict[str, list] = {"ours": [], "ww": []}

    start = time.perf_counter()
    spectra = [gram_eigenvalues(w) for w in weights]
    t["spectra"] = time.perf_counter() - start

    start = time.perf_counter()
    for w in weights:
        m, n = w.shape
        lam = gram_eigenvalues(w)
        fits["ours"].append(fit_mp_bulk(np.sqrt(lam * max(m, n)), m, n))
    t["ours"] = time.perf_counter() - start

    # the fit alone (milliseconds, so measured directly rather than by difference)
    start = time.perf_counter()
    for w, lam in zip(weights, spectra, strict=True):
        m, n = w.shape
        fit_mp_bulk(np.sqrt(lam * max(m, n)), m, n)
    t["ours_fit_only"] = time.perf_counter() - start

    start = time.perf_counter()
    for w, lam in zip(weights, spectra, strict=True):
        m, n = w.shape
        fits["ww"].append(ww_mp_fit(watcher, lam * max(m, n), m, n))
    t["ww_fit"] = time.perf_counter() - start

    params = DEFAULT_PARAMS.copy()
    start = time.perf_counter()
    for w in weights:
        n_big, p = max(w.shape), min(w.shape)
        watcher.combined_eigenvalues(w, n_big, p, p, params)
    t["ww_spectra"] = time.perf_counter() - start

    # what a scipy divide-and-conquer solve would give as floor (see the report)
    start = time.perf_counter()
    for w in weights:
        gram = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
        scipy.linalg.eigh(gram, eigvals_only=True, driver="evd", check_finite=False)
    t["spectra_scipy_evd"] = time.perf_counter() - start
    return {"t": t, "fits": fits}


def synthetic(m: int, n: int, sigma: float, spiked: bool, rng: np.random.Generator) -> np.ndarray:
    """Noise ``sigma Z`` (m x n, float32), plus rank-5 spikes above the edge if ``spiked``."""
    w = sigma * rng.standard_normal((m, n))
    if spiked:
        k = len(SPIKE_FACTORS)
        u, _ = np.linalg.qr(rng.standard_normal((m, k)))
        v, _ = np.linalg.qr(rng.standard_normal((n, k)))
        theta = sigma * (np.sqrt(m) + np.sqrt(n)) * np.asarray(SPIKE_FACTORS)
        w += (u * theta) @ v.T
    return w.astype(np.float32)


def accuracy(watcher: ww.WeightWatcher, rng: np.random.Generator) -> list[dict]:
    """Relative noise-level error of both fits on the synthetic matrices."""
    rows = []
    cases = [(shape, spiked) for shape in SHAPES for spiked in (False, True)]
    for (m, n), spiked in tqdm(cases, desc="accuracy", file=sys.stderr):
        sigma = float(rng.uniform(0.01, 0.1))
        w = synthetic(m, n, sigma, spiked, rng)
        lam = gram_eigenvalues(w)
        ours = fit_mp_bulk(np.sqrt(lam * max(m, n)), m, n)
        theirs = ww_mp_fit(watcher, lam * max(m, n), m, n)
        rows.append(
            {
                "m": m,
                "n": n,
                "gamma": min(m, n) / max(m, n),
                "spikes_planted": len(SPIKE_FACTORS) if spiked else 0,
                "sigma": sigma,
                "ours_rel_err": abs(ours.sigma_hat / sigma - 1.0),
                "ww_rel_err": abs(theirs["sigma_hat"] / sigma - 1.0),
                "ours_spikes": ours.spikes,
                "ww_spikes": theirs["spikes"],
            }
        )
    return rows


def check_against_analyze(watcher_cls: type) -> dict:
    """Check on a small net that the direct ``mp_fit`` call matches ``analyze``'s columns."""
    net = dense_net(CHECK_WIDTHS, SEED + 1)
    watcher = watcher_cls(model=net)
    start = time.perf_counter()
    details = watcher.analyze(
        mp_fit=True,
        plot=False,
        savefig=False,
        randomize=False,
        vectors=False,
        detX=False,
        deltas=False,
        intra=False,
        fix_fingers=False,
    )
    t_analyze = time.perf_counter() - start
    direct = []
    for w in net_weights(net):
        m, n = w.shape
        direct.append(ww_mp_fit(watcher, gram_eigenvalues(w) * max(m, n), m, n))
    diff = [
        abs(d["sigma_mp"] / s - 1.0)
        for d, s in zip(direct, details["sigma_mp"].to_numpy(), strict=True)
    ]
    true = [1.0 / np.sqrt(w.shape[1]) for w in net_weights(net)]
    from_cols = details["sigma_mp"] / (details["W_scale"] * np.sqrt(details["N"]))
    return {
        "widths": list(CHECK_WIDTHS),
        "analyze_seconds": t_analyze,
        "max_rel_diff_sigma_mp_direct_vs_analyze": float(max(diff)),
        "analyze_sigma_hat_rel_err": [
            float(abs(a / b - 1)) for a, b in zip(from_cols, true, strict=True)
        ],
    }


def main() -> None:
    """Run the timing rounds, the accuracy study and the analyze check; print and save."""
    watcher = ww.WeightWatcher()
    weights = net_weights(dense_net(WIDTHS, SEED))
    n_params = sum(w.size for w in weights)
    shapes = [list(w.shape) for w in weights]

    rounds = [
        time_round(weights, watcher) for _ in tqdm(range(REPEATS), desc="timing", file=sys.stderr)
    ]
    best = {k: min(r["t"][k] for r in rounds) for k in rounds[0]["t"]}
    fits = rounds[-1]["fits"]
    rows = accuracy(watcher, np.random.default_rng(SEED))
    check = check_against_analyze(ww.WeightWatcher)

    net_rows = []
    for w, ours, theirs in zip(weights, fits["ours"], fits["ww"], strict=True):
        sigma = 1.0 / np.sqrt(w.shape[1])
        net_rows.append(
            {
                "shape": list(w.shape),
                "ours_rel_err": abs(ours.sigma_hat / sigma - 1.0),
                "ww_rel_err": abs(theirs["sigma_hat"] / sigma - 1.0),
                "ours_spikes": ours.spikes,
                "ww_spikes": theirs["spikes"],
            }
        )
    ratios = {
        "ww_fit / ours": best["ww_fit"] / best["ours"],
        "ww_fit / ours_fit_only": best["ww_fit"] / best["ours_fit_only"],
        "(ww_spectra + ww_fit) / ours": (best["ww_spectra"] + best["ww_fit"]) / best["ours"],
        "ours / spectra": best["ours"] / best["spectra"],
        "spectra / spectra_scipy_evd": best["spectra"] / best["spectra_scipy_evd"],
    }
    summary = {}
    for key in ("ours_rel_err", "ww_rel_err"):
        for spiked in (False, True):
            vals = [r[key] for r in rows if (r["spikes_planted"] > 0) == spiked]
            tag = "spiked" if spiked else "noise"
            summary[f"{key}_{tag}_median"] = float(np.median(vals))
            summary[f"{key}_{tag}_max"] = float(np.max(vals))

    print(f"\nnet {'-'.join(map(str, WIDTHS))}: {n_params / 1e6:.1f}M weights, shapes {shapes}")
    print(f"BLAS threads {THREADS}, best of {REPEATS} interleaved rounds, seconds for all layers")
    for key, val in best.items():
        print(f"  {key:<18} {val:9.4f}")
    for key, val in ratios.items():
        print(f"  {key:<30} {val:9.2f}")
    print("\nnoise level on the net (true sigma = 1/sqrt(fan_in)): |sigma_hat/sigma - 1|")
    for r in net_rows:
        print(
            f"  {str(r['shape']):<12} ours {r['ours_rel_err']:.2e} ww {r['ww_rel_err']:.2e}"
            f"  spikes ours {r['ours_spikes']} ww {r['ww_spikes']}"
        )
    print("\nsynthetic matrices: |sigma_hat/sigma - 1| (5 planted spikes at 1.5-30x the edge)")
    print(f"  {'m x n':<12} {'gamma':>6} {'spikes':>6} {'ours':>9} {'ww':>9}  found ours/ww")
    for r in rows:
        print(
            f"  {str(r['m']) + 'x' + str(r['n']):<12} {r['gamma']:6.2f} {r['spikes_planted']:6d}"
            f" {r['ours_rel_err']:9.2e} {r['ww_rel_err']:9.2e}"
            f"  {r['ours_spikes']}/{r['ww_spikes']}"
        )
    for key, val in summary.items():
        print(f"  {key:<28} {val:.2e}")
    print(
        f"\nanalyze check on {CHECK_WIDTHS}: direct mp_fit vs analyze sigma_mp max rel diff "
        f"{check['max_rel_diff_sigma_mp_direct_vs_analyze']:.1e} "
        f"(analyze took {check['analyze_seconds']:.1f} s)"
    )

    OUT.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "net": {"widths": list(WIDTHS), "weights": int(n_params), "shapes": shapes},
        "blas_threads": THREADS,
        "repeats": REPEATS,
        "seconds_best": best,
        "seconds_rounds": [r["t"] for r in rounds],
        "ratios": ratios,
        "net_noise_level": net_rows,
        "synthetic": rows,
        "synthetic_summary": summary,
        "analyze_check": check,
        "versions": {"weightwatcher": ww.__version__, "numpy": np.__version__},
        "ww_options": "WeightWatcher.mp_fit(evals, N, M, rf=1, plot=False, savefig=False, "
        "rescale=True); analyze(mp_fit=True, plot=False, savefig=False, randomize=False, "
        "vectors=False, detX=False, deltas=False, intra=False, fix_fingers=False) for the check",
    }
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
