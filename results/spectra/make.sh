#!/bin/bash
# Regenerate the spectra figures: deformed Wigner spectra against the free convolution of the
# semicircle with the law of S, and the outlier phase transition. Run from the project root
# (`make fig-wigner`); PY is the python to use.
set -euo pipefail
PY=${PY:-.venv/bin/python}
OUT=results/spectra
export WANDB_MODE=${WANDB_MODE:-disabled}
# one BLAS thread per run: on shared cores multi-threaded LAPACK spins and runs far slower
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}

run() {  # run STUDY OVERRIDES... : one experiment into $OUT/STUDY, keeping PNG, CSV, JSON only
  local study=$1; shift
  rm -rf "${OUT:?}/$study"
  "$PY" -m runners.run "$@" logger=none "hydra.run.dir=$OUT/$study"
  rm -rf "$OUT/$study/.hydra" "$OUT/$study/metrics.jsonl" "$OUT/$study"/*.log
}

# growing rank (r = N/4, values uniform on [1, 2]) plus spikes 4, 2.5, -3 and a stuck 2.1;
# N = 250 ... 2000 for the finite-size rates
run deformed_wigner experiment=spectra/deformed_wigner
# the same with Rademacher entries: universality
run deformed_wigner_rademacher experiment=spectra/deformed_wigner entries=rademacher N=1000
# full-rank two-point law: two bulk components, a gap at 0
run two_point experiment=spectra/deformed_wigner perturbation=two_point N=1000
# finite rank: spikes 3 (outlier at 10/3), 0.5 (stuck), -2 (outlier at -2.5)
run finite_rank experiment=spectra/deformed_wigner perturbation=spikes N=2000
# phase picture: outlier position and overlap against theta, rank one and growing rank
run outlier_phase experiment=spectra/outlier_phase

"$PY" - "$OUT" <<'PY'
import json, sys
from pathlib import Path
rows = []
for d in sorted(Path(sys.argv[1]).iterdir()):
    f = d / "summary.json"
    if f.exists():
        s = json.loads(f.read_text())
        keep = {k: v for k, v in s.items() if "/" in k and isinstance(v, (int, float))}
        rows.append(f"{d.name}: " + ", ".join(f"{k} {v:.4g}" for k, v in sorted(keep.items())))
print("\n".join(rows))
PY
