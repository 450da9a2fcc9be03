#!/bin/bash
# Regenerate the homogenization figures and tables: one folder per study under
# results/homogenization/, each holding the PNG figures, their CSV/JSON data and summary.json.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
export WANDB_MODE=${WANDB_MODE:-disabled}
OUT=results/homogenization

for study in rps_convergence rps_localization rps_contrast rps_scattered rps_recovery; do
  echo "== homogenization/$study"
  rm -rf "${OUT:?}/$study"
  "$PY" -m runners.run "experiment=homogenization/$study" logger=none "hydra.run.dir=$OUT/$study"
  # keep figures, their data and the summary; drop run logs and Hydra's own folder
  rm -rf "$OUT/$study/.hydra" "$OUT/$study/metrics.jsonl" "$OUT/$study/run.log" "$OUT/$study/wandb"
done
echo "figures in $OUT/"
