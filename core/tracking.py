"""One metrics sink for every experiment: local run-folder files, plus wandb when it is on.

Run-folder contract (see DESIGN.md): ``metrics.jsonl`` (one JSON object per logged step with
a ``step`` field and ``group/name`` keys), ``summary.json`` (final scalars and ``status``,
written atomically), PNG figures each with the data behind it (CSV or JSON), tables as CSV,
and ``wandb/`` when the wandb logger is on. A wandb failure is logged and never fails a run.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def to_jsonable(value: Any) -> Any:
    """Plain Python value for JSON: numpy/torch scalars become floats or ints, arrays lists."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON to a temp file beside ``path`` and rename it into place."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(to_jsonable(data), indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


def write_csv(path: Path, rows: Sequence[Mapping[str, Any]]) -> None:
    """Write rows of dicts as CSV; the header is the union of keys in first-seen order."""
    header: list[str] = []
    for row in rows:
        header.extend(k for k in row if k not in header)
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        writer.writerows({k: to_jsonable(v) for k, v in row.items()} for row in rows)


def read_summary(path: Path) -> dict[str, Any]:
    """A run's summary.json as a dict; ``status: unreadable`` with the reason when it is
    not valid JSON, not text, or not a JSON object."""
    try:
        values = json.loads(Path(path).read_text())
    except (ValueError, OSError) as err:  # bad JSON or not text at all
        return {"status": "unreadable", "error": str(err)}
    if not isinstance(values, dict):
        return {"status": "unreadable", "error": f"summary holds {type(values).__name__}"}
    return values


class Tracker:
    """Metrics, figures, tables and the final summary of one run.

    Parameters
    ----------
    run_dir
        The run folder; created if missing.
    logger
        Logger settings: ``{"kind": "wandb", "project": ..., "mode": ...}`` or
        ``{"kind": "none"}``; ``None`` means local files only.
    config
        The resolved run config, stored with the wandb run.
    """

    def __init__(
        self,
        run_dir: str | Path,
        logger: Mapping[str, Any] | None = None,
        config: Mapping[str, Any] | None = None,
    ) -> None:
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.values: dict[str, Any] = {}
        # a rerun into the same folder starts clean: no stale summary, metrics from scratch
        (self.run_dir / "summary.json").unlink(missing_ok=True)
        self._metrics = (self.run_dir / "metrics.jsonl").open("w")
        self._wandb = None
        self._wandb_offline = False
        if logger and logger.get("kind") == "wandb":
            self._wandb = self._start_wandb(logger, config)

    # -- wandb ---------------------------------------------------------------------------
    def _start_wandb(self, logger: Mapping[str, Any], config: Mapping[str, Any] | None):
        mode = os.environ.get("WANDB_MODE") or logger.get("mode", "offline")
        if mode == "disabled":
            return None
        try:
            import wandb
        except Exception as err:
            log.warning("wandb is off for this run: %s", err)
            return None
        kwargs = dict(
            project=logger.get("project", "scalelab"),
            entity=logger.get("entity"),
            name=logger.get("name"),
            group=logger.get("group"),
            tags=list(logger.get("tags") or []),
            dir=str(self.run_dir),
            config=dict(config or {}),
            reinit="create_new",
        )
        try:
            # a short timeout: an unreachable server must not hold the run up
            settings = wandb.Settings(
                init_timeout=float(logger.get("init_timeout", 15)), silent=True, console="off"
            )
            run = wandb.init(mode=mode, settings=settings, **kwargs)
            self._wandb_offline = mode == "offline"
            log.info("wandb %s run in %s", mode, _wandb_run_folder(run))
            return run
        except Exception as err:  # a wandb failure never fails the run
            if mode != "online":
                log.warning("wandb is off for this run: %s", err)
                return None
            log.warning("wandb online failed (%s); logging offline, `wandb sync` later", err)
        try:
            self._wandb_offline = True
            return wandb.init(mode="offline", settings=wandb.Settings(silent=True), **kwargs)
        except Exception as err:
            log.warning("wandb is off for this run: %s", err)
            return None

    def _to_wandb(self, method: str, *args: Any, **kwargs: Any) -> None:
        if self._wandb is None:
            return
        try:
            getattr(self._wandb, method)(*args, **kwargs)
        except Exception as err:
            log.warning("wandb %s failed, turning wandb off for this run: %s", method, err)
            self._wandb = None

    # -- logging -------------------------------------------------------------------------
    def log(self, metrics: Mapping[str, Any], step: int) -> None:
        """Append one step of ``group/name`` metrics to metrics.jsonl (flushed) and wandb."""
        row = {"step": int(step), **to_jsonable(dict(metrics))}
        self._metrics.write(json.dumps(row) + "\n")
        self._metrics.flush()
        self._to_wandb("log", dict(metrics), step=int(step))

    def record(self, values: Mapping[str, Any]) -> None:
        """Remember final scalars for summary.json, kept even if the run fails later."""
        self.values.update(to_jsonable(dict(values)))

    def figure(self, name: str, fig: Any, data: Any = None) -> Path:
        """Save a matplotlib figure as ``name.png`` and the data behind it beside it.

        ``data`` may be a list of row dicts (written as CSV) or any JSON-able object.
        Returns the PNG path. The figure is closed.
        """
        import matplotlib.pyplot as plt

        path = self.run_dir / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=120, bbox_inches="tight")
        plt.close(fig)
        if data is not None:
            is_rows = isinstance(data, list) and data and isinstance(data[0], Mapping)
            if is_rows:
                write_csv(path.with_suffix(".csv"), data)
            else:
                write_json_atomic(path.with_suffix(".json"), data)
        if self._wandb is not None:
            self._to_wandb("log", {f"figures/{name}": _wandb_image(path)})
        return path

    def table(self, name: str, rows: Sequence[Mapping[str, Any]]) -> Path:
        """Write rows as ``name.csv`` in the run folder (and as a wandb table). Returns path."""
        path = self.run_dir / f"{name}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_csv(path, rows)
        if self._wandb is not None and rows:
            try:
                import wandb

                cols = list(rows[0])
                data = [[to_jsonable(r.get(c)) for c in cols] for r in rows]
                self._to_wandb("log", {f"tables/{name}": wandb.Table(columns=cols, data=data)})
            except Exception as err:
                log.warning("wandb table %s skipped: %s", name, err)
        return path

    def summary(self, values: Mapping[str, Any] | None = None, error: str | None = None) -> Path:
        """Write summary.json atomically: recorded scalars, ``values``, and ``status``.

        ``status`` is ``"ok"`` unless ``error`` is given, then ``"failed"`` with the message.
        """
        self.record(values or {})
        out = dict(self.values)
        out["status"] = "failed" if error else "ok"
        if error:
            out["error"] = error
        path = self.run_dir / "summary.json"
        write_json_atomic(path, out)
        if self._wandb is not None:
            try:
                scalars = {k: v for k, v in out.items() if _is_scalar(v)}
                self._wandb.summary.update(scalars)
            except Exception as err:
                log.warning("wandb summary failed: %s", err)
        return path

    def close(self) -> None:
        """Flush files and finish the wandb run (if any). Safe to call twice."""
        self._metrics.close()
        if self._wandb is not None and self._wandb_offline:
            log.info("upload the wandb run later: wandb sync %s", _wandb_run_folder(self._wandb))
        if self._wandb is not None:
            self._to_wandb("finish")
            self._wandb = None

    def __enter__(self) -> Tracker:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _is_scalar(value: Any) -> bool:
    if isinstance(value, bool | int | str):
        return True
    return isinstance(value, float) and not math.isnan(value)


def _wandb_run_folder(run: Any) -> Path:
    """The ``offline-run-*`` (or ``run-*``) folder of a wandb run: what ``wandb sync`` takes."""
    return Path(run.dir).parent


def _wandb_image(path: Path) -> Any:
    import wandb

    return wandb.Image(str(path))
