"""Shared test helpers: compose an experiment as the runner would and run it in-process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import get_method
from omegaconf import OmegaConf

import runners.app  # noqa: F401  (registers the run_stamp resolver)
from core.config import call_checked
from core.tracking import Tracker
from runners.catalog import CONF_DIR

os.environ["WANDB_MODE"] = "disabled"
# One BLAS/torch thread per test process: subprocess and sweep tests run several processes
# at once, and oversubscribed OpenBLAS threads slow LAPACK calls by orders of magnitude.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True, scope="session")
def _single_thread():
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    with threadpool_limits(limits=1):
        yield


def compose_config(overrides: list[str]):
    """The composed root config for ``overrides`` (as ``python -m runners.run`` builds it)."""
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose("config", overrides=overrides)


def run_task(overrides: list[str], run_dir: Path) -> dict:
    """Compose and call the experiment's task in-process; return its result dict."""
    cfg = compose_config([*overrides, "logger=none"])
    task = OmegaConf.to_container(cfg.task, resolve=True)
    target = task.pop("_target_")
    with Tracker(run_dir) as tracker:
        return call_checked(get_method(target), task, tracker=tracker)


def run_cli(
    args: list[str], cwd: Path = ROOT, timeout: float = 300
) -> subprocess.CompletedProcess:
    """Run ``python -m runners.run ARGS`` in a subprocess; stdout and stderr together."""
    env = {**os.environ, "WANDB_MODE": "disabled", "PYTHONHASHSEED": "0"}
    return subprocess.run(
        [sys.executable, "-m", "runners.run", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# overrides that make pruning/dense_mp run in a few seconds on the digits set
TINY_DENSE = [
    "experiment=pruning/dense_mp",
    "data=digits",
    "model.widths=[96,64]",
    "train.epochs=4",
    "pruning.min_dim=32",
    "pruning.start_epoch=1",
    "pruning.every=1",
    "pruning.end_epoch=3",
]
# overrides that make pruning/esd run in a few seconds
TINY_ESD = ["experiment=pruning/esd", "data=digits", "model.widths=[64,48]", "train.epochs=1"]


@pytest.fixture
def tiny_dense() -> list[str]:
    return list(TINY_DENSE)
