"""Every experiment config composes, names a real function, and passes its argument schema."""

import inspect
import re
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


@pytest.mark.parametrize(
    ("cls", "data", "message"),
    [
        ("TrainConfig", {"batch_size": 0}, "train.batch_size must be >= 1"),
        ("TrainConfig", {"lr": -1.0}, "train.lr must be > 0"),
        ("PruningConfig", {"every": 0}, "pruning.every must be >= 1"),
        ("PruningConfig", {"keep_start": 2.0}, "pruning.keep_start must be in [0, 1]"),
        ("PruningConfig", {"tw_level": 0.5}, "pruning.tw_level must be one of"),
        ("ModelConfig", {"widths": [64, 0]}, "model.widths must be positive"),
        ("DataConfig", {"limit": 0}, "data.limit must be >= 1"),
    ],
)
def test_out_of_range_values_are_rejected_before_work(cls, data, message):
    from core.config import from_dict
    from core.errors import ConfigError
    from core.pruning.spectral import PruningConfig
    from core.training.data import DataConfig
    from core.training.loop import TrainConfig
    from core.training.models import ModelConfig

    classes = {c.__name__: c for c in (TrainConfig, PruningConfig, ModelConfig, DataConfig)}
    with pytest.raises(ConfigError, match=re.escape(message)):
        from_dict(classes[cls], data)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["experiment=null"], "no experiment given"),
        (["+experiment=pruning/esd"], "without '+'"),
        (["experiment=choice(pruning/esd,nope)"], "unknown experiment 'nope'"),
        (["experiment=pruning/esd", "data=null"], "unknown data 'null'"),
    ],
)
def test_argv_check_catches_null_plus_and_choice(argv, expected):
    assert expected in check_argv(argv)


def test_misspelt_keys_get_the_valid_keys_of_their_level():
    from runners.catalog import check_keys

    top = check_keys(["experiment=pruning/dense_mp", "trian.epochs=3"])
    assert "Did you mean train.epochs?" in top and "pruning" in top
    nested = check_keys(["experiment=pruning/dense_mp", "train.epoch=3"])
    assert "Did you mean train.epochs?" in nested and "batch_size" in nested
    assert check_keys(["experiment=pruning/dense_mp", "train.epochs=3"]) is None
