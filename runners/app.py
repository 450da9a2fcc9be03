"""The Hydra task: seed, open the tracker, call the experiment's core function, write the
summary, close the tracker. Lives in an importable module so that launcher workers (joblib,
submitit) find it and its resolvers by reference."""

from __future__ import annotations

import logging
import os
import random
import signal
import sys
import time
from pathlib import Path
from typing import Any

import hydra
import numpy as np
from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from hydra.utils import get_method
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from core.config import call_checked
from core.errors import ConfigError, UserError
from core.tracking import Tracker, read_summary
from runners.catalog import CONF_DIR, new_run_stamp

log = logging.getLogger("runners.run")

# One stamp per command (set afresh by runners/run.py), inherited by launcher workers, so
# run and sweep folders never collide (two runs started in the same second differ by
# process id) and all jobs of a sweep share one folder.
os.environ.setdefault("SCALELAB_RUN_STAMP", new_run_stamp())
OmegaConf.register_new_resolver(
    "run_stamp", lambda: os.environ["SCALELAB_RUN_STAMP"], replace=True
)
OmegaConf.register_new_resolver("slug", lambda s: str(s).replace("/", "-"), replace=True)


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and (when the experiment imported it) torch; experiments still
    derive their own generators from ``seed``."""
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 (legacy global state some libraries read)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)


def headline(result: dict) -> str:
    """A short 'key value' line of the first scalar results, for the closing log line."""
    items = [(k, v) for k, v in result.items() if isinstance(v, (int, float))][:8]
    return ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in items)


class Terminated(Exception):
    """SIGTERM arrived (SLURM time limit, ``timeout``, ``kill``)."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated()


class FailedJobsCallback(Callback):
    """After a sweep, log which jobs failed (from their summaries) and exit with status 1."""

    def on_multirun_end(self, config: DictConfig, **kwargs: object) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        failed = [
            str(path.parent)
            for path in sorted(sweep_dir.rglob("summary.json"))
            if read_summary(path).get("status") != "ok"
        ]
        if failed:
            log.error("%d job(s) of the sweep failed: %s", len(failed), ", ".join(failed))
            sys.exit(1)


def _on_sigterm(handler):
    """Install a SIGTERM handler where possible (main thread); return the previous one."""
    try:
        return signal.signal(signal.SIGTERM, handler)
    except (ValueError, TypeError):  # not the main thread, or no previous Python handler
        return None


def _source_keys(task: DictConfig) -> dict[str, str]:
    """Task argument -> the config key it interpolates (``train_cfg: ${train}`` -> train)."""
    raw = OmegaConf.to_container(task, resolve=False)
    return {
        arg: value[2:-1]
        for arg, value in raw.items()
        if isinstance(value, str)
        and value.startswith("${")
        and value.endswith("}")
        and ":" not in value
    }


def _resolved(cfg: DictConfig, key: str | None = None) -> Any:
    """``cfg`` (or ``cfg[key]``) as a plain resolved dict; None when it cannot be resolved
    (the error then surfaces inside the run, where it is written to the summary)."""
    try:
        node = cfg if key is None else cfg.get(key)
        if not OmegaConf.is_config(node):
            return node  # a plain value (or None)
        return OmegaConf.to_container(node, resolve=True)
    except Exception:
        return None


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def main(cfg: DictConfig) -> None:
    """Run ``cfg.task`` with the tracker; a failed run still writes its summary."""
    hydra_cfg = HydraConfig.get()
    run_dir = Path(hydra_cfg.runtime.output_dir)
    name = cfg.get("name") or hydra_cfg.runtime.choices.get("experiment")
    log.info("experiment %s, seed %s, output %s", name, cfg.seed, run_dir)
    logging.getLogger("skfem").setLevel(logging.WARNING)  # one INFO line per assembly

    start = time.perf_counter()
    tracker = Tracker(run_dir, _resolved(cfg, "logger"), config=_resolved(cfg))
    tracker.record({"experiment": name, "seed": _resolved(cfg, "seed")})
    failed, exit_code = False, 0
    previous_sigterm = _on_sigterm(_raise_terminated)
    try:
        seed = cfg.seed
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
            raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
        if cfg.get("task") is None:
            raise UserError(f"experiment {name} has no task: its config must set task._target_")
        task = OmegaConf.to_container(cfg.task, resolve=True)
        fn = get_method(task.pop("_target_"))  # imports the experiment (and torch if it uses it)
        seed_everything(seed)
        result = call_checked(fn, task, names=_source_keys(cfg.task), tracker=tracker)
        tracker.record({"elapsed_s": time.perf_counter() - start})
        tracker.summary(result)
        log.info("done in %.1f s: %s", time.perf_counter() - start, headline(result))
    except (UserError, OmegaConfBaseException) as err:
        failed = True
        tracker.summary(error=f"{type(err).__name__}: {err}")
        log.error("run failed: %s", err)
    except (KeyboardInterrupt, Terminated) as err:
        reason = "terminated" if isinstance(err, Terminated) else "interrupted"
        tracker.summary(error=reason)
        log.error("run %s; its summary is written", reason)
        exit_code = 143 if isinstance(err, Terminated) else 130
    except Exception as err:
        failed = True
        tracker.summary(error=f"{type(err).__name__}: {err}")
        log.exception("run failed with an unexpected error (a bug: please report it)")
    finally:
        _on_sigterm(previous_sigterm)
        tracker.close()

    if exit_code:  # interrupted or terminated: stop, a sweep too
        sys.exit(exit_code)
    # In a sweep the other jobs go on; a single run reports failure in its exit status.
    if failed and hydra_cfg.mode == RunMode.RUN:
        sys.exit(1)
