"""Data loading: the embedded sets, and the real MNIST/CIFAR readers on files written here."""

import pickle
import struct

import numpy as np
import pytest

from core.errors import DataNotFoundError, UserError
from core.training.data import DataConfig, load_dataset


def write_idx(path, array):
    """An IDX file as MNIST distributes them (big-endian header, uint8 data)."""
    magic = 0x0800 | array.ndim
    with path.open("wb") as fh:
        fh.write(struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape))
        fh.write(array.astype(np.uint8).tobytes())


@pytest.mark.parametrize(
    ("name", "folder"), [("mnist", "MNIST"), ("fashion_mnist", "FashionMNIST")]
)
def test_mnist_reader_loads_idx_files(tmp_path, name, folder):
    raw = tmp_path / folder / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for split, n in (("train", 30), ("t10k", 10)):
        write_idx(raw / f"{split}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)))
        write_idx(raw / f"{split}-labels-idx1-ubyte", np.arange(n) % 10)
    ds = load_dataset(DataConfig(name=name, root=str(tmp_path)))
    assert ds.x_train.shape == (30, 28, 28) and ds.x_test.shape == (10, 28, 28)
    assert ds.y_test.tolist() == list(range(10)) and ds.n_classes == 10
    assert abs(float(ds.x_train.mean())) < 1e-5  # standardized with training statistics


def test_cifar_reader_loads_python_batches(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(1)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"data": rng.integers(0, 256, (4, 3072)), b"labels": [0, 1, 2, 3]}
        (folder / name).write_bytes(pickle.dumps(batch))
    ds = load_dataset(DataConfig(name="cifar10", root=str(tmp_path)))
    assert ds.x_train.shape == (20, 3, 32, 32) and ds.x_test.shape == (4, 3, 32, 32)


@pytest.mark.parametrize("name", ["mnist", "cifar10"])
def test_missing_files_say_where_to_put_them(tmp_path, name):
    with pytest.raises(DataNotFoundError, match=str(tmp_path)):
        load_dataset(DataConfig(name=name, root=str(tmp_path)))


def test_embedded_sets_have_their_documented_sizes():
    subset = load_dataset(DataConfig(name="mnist_subset"))
    assert (len(subset.y_train), len(subset.y_test)) == (4000, 1000)
    assert subset.x_train.shape[1:] == (784,)
    again = load_dataset(DataConfig(name="mnist_subset"))
    assert np.array_equal(subset.y_test.numpy(), again.y_test.numpy())  # fixed split
    digits = load_dataset(DataConfig(name="digits"))
    assert len(digits.y_train) + len(digits.y_test) == 1797
    one_d = load_dataset(DataConfig(name="mnist1d"))
    assert one_d.x_train.shape == (4000, 40)


def test_unknown_data_set_lists_the_valid_ones():
    with pytest.raises(UserError, match="mnist_subset"):
        load_dataset(DataConfig(name="imagenet"))
