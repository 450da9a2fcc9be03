"""Each homogenization experiment runs end to end through Hydra's compose API in seconds."""

from __future__ import annotations

import csv
import json

import pytest
from hydra import compose, initialize_config_dir
from hydra.utils import get_method
from omegaconf import OmegaConf

import runners.app  # noqa: F401 (registers the resolvers)
from core.config import call_checked
from core.tracking import Tracker
from runners.catalog import CONF_DIR

TINY = {
    "rps_convergence": ["fine_n=32", "coarse_ns=[2,4,8]", "ell=2", "workers=1"],
    "rps_localization": ["fine_n=32", "coarse_ns=[4]", "ells=[1,2,3]", "workers=1"],
    "rps_contrast": ["fine_n=32", "coarse_ns=[4]", "contrasts=[1.0,100.0]", "coefficient.cells=8"],
    "rps_scattered": ["fine_n=32", "coarse_ns=[2,4]", "ell=1", "workers=1"],
    "rps_recovery": ["fine_n=32", "coarse_ns=[2,4]", "ell=1", "workers=1"],
}


def run_experiment(name: str, overrides: list[str], tmp_path) -> dict:
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(
            "config", overrides=[f"experiment=homogenization/{name}", "logger=none", *overrides]
        )
    task = OmegaConf.to_container(cfg.task, resolve=True)
    target = task.pop("_target_")
    tracker = Tracker(tmp_path)
    try:
        result = call_checked(get_method(target), task, tracker=tracker)
        tracker.summary(result)
    finally:
        tracker.close()
    return result


@pytest.mark.parametrize("name", sorted(TINY))
def test_experiment_runs_with_tiny_settings(name: str, tmp_path) -> None:
    result = run_experiment(name, TINY[name], tmp_path)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["status"] == "ok"
    assert (tmp_path / "coefficient.png").exists()
    assert all(k.count("/") == 1 for k in result)
    assert summary["coefficient/contrast"] >= 1.0


def test_convergence_csv_has_the_contract_columns(tmp_path) -> None:
    result = run_experiment("rps_convergence", TINY["rps_convergence"], tmp_path)
    rows = list(csv.DictReader((tmp_path / "convergence.csv").open()))
    assert {"method", "coarse_n", "energy_rel", "l2_rel"} <= set(rows[0])
    assert {r["method"] for r in rows} == {"rps_global", "rps_local", "fem"}
    assert result["rps/energy_rate"] > result["fem/energy_rate"]


def test_coarse_n_that_does_not_divide_fine_n_is_a_user_error(tmp_path) -> None:
    from core.errors import UserError

    with pytest.raises(UserError, match="divide"):
        run_experiment("rps_convergence", ["fine_n=30", "coarse_ns=[4]"], tmp_path)
