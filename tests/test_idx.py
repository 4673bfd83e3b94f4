import gzip

import numpy as np
import pytest

from handwritten_digits.data import idx
from handwritten_digits.data.mnist import load_mnist
from handwritten_digits.errors import DigitsError


@pytest.mark.parametrize("dtype", ["u1", "i1", "<i2", "<i4", "<f4", "<f8"])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_round_trip_every_type(tmp_path, dtype, suffix):
    arr = (np.arange(2 * 3 * 4) - 5).astype(dtype).reshape(2, 3, 4)
    if dtype == "u1":
        arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    path = idx.write_idx(tmp_path / f"a{suffix}", arr)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == (suffix == ".gz")
    back = idx.read_idx(path)
    assert back.dtype == arr.dtype and back.shape == arr.shape
    np.testing.assert_array_equal(back, arr)


def test_bad_magic_names_the_file(tmp_path):
    path = tmp_path / "bad-idx"
    path.write_bytes(b"\x01\x02\x08\x01" + b"\x00" * 8)
    with pytest.raises(DigitsError, match="bad-idx.*magic"):
        idx.read_idx(path)


def test_truncated_and_trailing(tmp_path):
    data = idx.encode(np.zeros((3, 2, 2), np.uint8))
    (tmp_path / "short").write_bytes(data[:-1])
    (tmp_path / "long").write_bytes(data + b"\x00")
    with pytest.raises(DigitsError, match="truncated"):
        idx.read_idx(tmp_path / "short")
    with pytest.raises(DigitsError, match="trailing"):
        idx.read_idx(tmp_path / "long")


def test_truncated_gzip(tmp_path):
    body = gzip.compress(idx.encode(np.zeros((50, 28, 28), np.uint8)))
    (tmp_path / "cut.gz").write_bytes(body[: len(body) // 2])
    with pytest.raises(DigitsError, match="cut.gz"):
        idx.read_idx(tmp_path / "cut.gz")


def test_unknown_type_code(tmp_path):
    (tmp_path / "x").write_bytes(bytes([0, 0, 0x07, 1, 0, 0, 0, 0]))
    with pytest.raises(DigitsError, match="type code"):
        idx.read_idx(tmp_path / "x")


def _fake_mnist(folder, n_images=5, n_labels=5):
    for prefix, n in (("train", n_images), ("t10k", n_images)):
        idx.write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", np.zeros((n, 28, 28), np.uint8))
    for prefix in ("train", "t10k"):
        idx.write_idx(folder / f"{prefix}-labels-idx1-ubyte", np.arange(n_labels, dtype=np.uint8) % 10)


def test_count_mismatch_is_an_error(tmp_path):
    _fake_mnist(tmp_path, n_images=5, n_labels=4)
    with pytest.raises(DigitsError, match="4 labels for 5 images"):
        load_mnist("train", tmp_path)


def test_gzip_and_raw_files_mix(tmp_path):
    _fake_mnist(tmp_path)
    images, labels = load_mnist("test", tmp_path)
    assert images.shape == (5, 28, 28) and labels.tolist() == [0, 1, 2, 3, 4]
