"""Every experiment config composes, names a real function, and passes its argument schema."""

import inspect
import typing

import pytest
from hydra.utils import get_method
from omegaconf import OmegaConf

from core.config import build
from runners.catalog import check_argv, choices
from tests.conftest import compose_config

EXPERIMENTS = sorted(choices("experiment"))


def test_there_are_experiments_and_each_has_a_description():
    assert "pruning/dense_mp" in EXPERIMENTS
    assert all(choices("experiment")[name] for name in EXPERIMENTS)


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_experiment_config_composes_and_matches_its_function(name):
    cfg = compose_config([f"experiment={name}", "logger=none"])
    task = OmegaConf.to_container(cfg.task, resolve=True)
    fn = get_method(task.pop("_target_"))
    params = inspect.signature(fn).parameters
    hints = typing.get_type_hints(fn)
    assert set(task) <= set(params), f"{name}: unknown arguments {set(task) - set(params)}"
    for key, value in task.items():
        build(hints.get(key, typing.Any), value, key)  # raises on a wrong type
    assert "tracker" in params


def test_argv_check_lists_experiments_when_none_is_given():
    message = check_argv(["seed=1"])
    assert "no experiment given" in message and "pruning/dense_mp" in message


def test_argv_check_rejects_unknown_names_in_sweeps_too():
    assert "unknown experiment 'pruning/nope'" in check_argv(
        ["experiment=pruning/dense_mp,pruning/nope"]
    )
    assert "mnist_subset" in check_argv(["experiment=pruning/dense_mp", "data=mnistt"])
    assert check_argv(["experiment=pruning/dense_mp", "data=digits,mnist1d"]) is None


@pytest.mark.parametrize(
    ("launcher", "target"),
    [("slurm", "SlurmLauncher"), ("local", "LocalLauncher"), ("parallel", "JoblibLauncher")],
)
def test_launcher_presets_compose_onto_their_plugins(launcher, target):
    from hydra import compose, initialize_config_dir

    from runners.catalog import CONF_DIR

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(
            "config",
            overrides=["experiment=pruning/esd", f"hydra/launcher={launcher}"],
            return_hydra_config=True,
        )
    assert cfg.hydra.launcher._target_.endswith(target)
