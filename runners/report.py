"""Tabulate a folder of runs: ``python -m runners.report DIR [--out OUT]``.

Reads every ``summary.json`` under DIR (a ``-m`` sweep, or several runs) and writes
``report.csv`` (one row per run: its overrides and summary values), ``report.md`` (the same,
plus mean +- std over seeds of every group of runs that differ only in ``seed``) and
``report.png`` (grouped bars of the headline metrics with their spread).
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from pathlib import Path

import pandas as pd
import yaml

from core.tracking import read_summary

log = logging.getLogger("runners.report")

DEFAULT_METRICS = r"(test_acc|_rate|_err|sup_err)$"


def read_runs(root: Path) -> pd.DataFrame:
    """One row per run folder under ``root``: ``run``, override columns, summary columns."""
    rows = []
    for summary in sorted(root.rglob("summary.json")):
        run = summary.parent
        row: dict = {"run": str(run.relative_to(root)) or "."}
        for item in _overrides(run / ".hydra" / "overrides.yaml"):
            key, _, value = str(item).lstrip("+~").partition("=")
            if not key.startswith("hydra"):
                row[f"cfg:{key}"] = value
        values = read_summary(summary)
        row.update(
            {
                k: v
                for k, v in values.items()
                if not isinstance(v, (dict, list)) and f"cfg:{k}" not in row
            }
        )
        rows.append(row)
    return pd.DataFrame(rows)


def _overrides(path: Path) -> list:
    """The override strings of a run (Hydra's overrides.yaml); [] when missing or unreadable."""
    try:
        items = yaml.safe_load(path.read_text()) if path.is_file() else []
    except (yaml.YAMLError, OSError, UnicodeDecodeError):
        log.warning("ignoring unreadable %s", path)
        return []
    return items if isinstance(items, list) else []


def group_over_seeds(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean, std and count of every numeric summary column, over runs that differ only in
    seed (and folder). Failed runs are left out of the statistics."""
    ok = runs[runs.get("status", "ok") == "ok"] if "status" in runs else runs
    keys = [c for c in runs.columns if c.startswith("cfg:") and c != "cfg:seed"]
    numeric = [
        c
        for c in ok.columns
        if c not in keys and c not in ("seed", "cfg:seed") and pd.api.types.is_numeric_dtype(ok[c])
    ]
    if ok.empty or not numeric:
        return pd.DataFrame()
    grouped = ok.groupby(keys, dropna=False) if keys else ok.assign(_all="all").groupby("_all")
    stats = grouped[numeric].agg(["mean", "std", "count"])
    stats.columns = [f"{col} {stat}" for col, stat in stats.columns]
    return stats.reset_index()


def mean_pm_std(stats: pd.DataFrame) -> pd.DataFrame:
    """The grouped table with each metric as one ``mean +- std (n)`` text cell."""
    keys = [c for c in stats.columns if not c.endswith((" mean", " std", " count"))]
    out = stats[keys].copy()
    for col in [c[: -len(" mean")] for c in stats.columns if c.endswith(" mean")]:
        mean, std, n = stats[f"{col} mean"], stats[f"{col} std"].fillna(0.0), stats[f"{col} count"]
        out[col] = [f"{m:.4g} +- {s:.2g} ({int(k)})" for m, s, k in zip(mean, std, n, strict=True)]
    return out


def plot(stats: pd.DataFrame, pattern: str, path: Path) -> Path | None:
    """Grouped bars (mean, std as error bars) of the metrics matching ``pattern``."""
    metrics = [c[: -len(" mean")] for c in stats.columns if c.endswith(" mean")]
    metrics = [m for m in metrics if re.search(pattern, m)]
    if not metrics:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    keys = [c for c in stats.columns if not c.endswith((" mean", " std", " count"))]
    labels = [", ".join(str(r[k]) for k in keys) or "all" for _, r in stats.iterrows()]
    fig, ax = plt.subplots(figsize=(max(5, 1.2 * len(metrics) * max(1, len(labels)) / 2), 4))
    width = 0.8 / max(1, len(labels))
    x = np.arange(len(metrics))
    for i, (label, (_, row)) in enumerate(zip(labels, stats.iterrows(), strict=True)):
        means = [row[f"{m} mean"] for m in metrics]
        stds = [0.0 if pd.isna(row[f"{m} std"]) else row[f"{m} std"] for m in metrics]
        ax.bar(x + i * width, means, width, yerr=stds, capsize=3, label=label)
    ax.set_xticks(x + width * (len(labels) - 1) / 2, metrics, rotation=30, ha="right")
    ax.set_ylabel("mean over seeds (bars: std)")
    if len(labels) > 1:
        ax.legend(fontsize=8)
    finite = [row[f"{m} mean"] for _, row in stats.iterrows() for m in metrics]
    if finite and all(0.5 < v <= 1.0 for v in finite):
        ax.set_ylim(min(finite) - 0.05, 1.0)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_report(root: Path, out: Path, pattern: str = DEFAULT_METRICS) -> pd.DataFrame:
    """Write report.csv, report.md (and report.png) for the runs under ``root`` into ``out``."""
    runs = read_runs(root)
    if runs.empty:
        raise SystemExit(f"no summary.json under {root}: is it a run or sweep folder?")
    out.mkdir(parents=True, exist_ok=True)
    runs.to_csv(out / "report.csv", index=False)
    stats = group_over_seeds(runs)
    lines = [f"# Report of {root}", "", f"{len(runs)} runs.", ""]
    if not stats.empty:
        stats.to_csv(out / "report_grouped.csv", index=False)
        lines += ["## Mean +- std over seeds", "", mean_pm_std(stats).to_markdown(index=False), ""]
        plot(stats, pattern, out / "report.png")
    lines += ["## Runs", "", runs.to_markdown(index=False), ""]
    (out / "report.md").write_text("\n".join(lines))
    failed = int((runs["status"] != "ok").sum()) if "status" in runs else 0
    log.info("%d runs (%d failed) -> %s", len(runs), failed, out)
    return runs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path, help="a run folder, a sweep folder, or a parent")
    parser.add_argument("--out", type=Path, default=None, help="where to write (default: DIR)")
    parser.add_argument("--metrics", default=DEFAULT_METRICS, help="regex of metrics to plot")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not args.dir.is_dir():
        print(f"{args.dir} is not a folder", file=sys.stderr)
        sys.exit(2)
    out = args.out or args.dir
    if out.exists() and not out.is_dir():
        print(f"--out {out} is a file; give a folder", file=sys.stderr)
        sys.exit(2)
    try:
        re.compile(args.metrics)
    except re.error as err:
        print(f"--metrics {args.metrics!r} is not a regular expression: {err}", file=sys.stderr)
        sys.exit(2)
    write_report(args.dir, out, args.metrics)


if __name__ == "__main__":
    main()
