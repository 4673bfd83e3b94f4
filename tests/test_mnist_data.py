import numpy as np
import pytest

from handwritten_digits.cli import main
from handwritten_digits.data import load_dataset, load_eval_set, locate_mnist, train_val_split
from handwritten_digits.errors import DigitsError


def test_splits_have_the_right_sizes(data_dir):
    train, val, test = (load_dataset(s, data_dir) for s in ("train", "val", "test"))
    assert [len(x[0]) for x in (train, val, test)] == [55_000, 5_000, 10_000]
    assert train[0].dtype == np.float32 and train[0].shape[1:] == (28, 28)
    assert 0.0 <= train[0].min() and train[0].max() == 1.0
    assert set(np.unique(test[1])) == set(range(10))


def test_validation_split_is_deterministic_stratified_and_disjoint():
    labels = np.repeat(np.arange(10), [100, 120, 90, 110, 100, 80, 100, 105, 95, 100])
    a_train, a_val = train_val_split(labels, 100, seed=3)
    b_train, b_val = train_val_split(labels, 100, seed=3)
    np.testing.assert_array_equal(a_val, b_val)
    assert len(a_val) == 100 and not set(a_train) & set(a_val)
    assert len(a_train) + len(a_val) == len(labels)
    share = np.bincount(labels[a_val], minlength=10) / 100
    np.testing.assert_allclose(share, np.bincount(labels) / len(labels), atol=0.011)
    assert not np.array_equal(train_val_split(labels, 100, seed=4)[1], a_val)


def test_location_order(data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITS_DATA_DIR", str(data_dir))
    assert locate_mnist() == data_dir
    monkeypatch.setenv("DIGITS_DATA_DIR", str(tmp_path))
    monkeypatch.setattr("handwritten_digits.data.mnist.CACHE", tmp_path / "cache")
    assert locate_mnist(data_dir) == data_dir  # --data-dir wins over the environment
    with pytest.raises(DigitsError, match="put the four IDX files"):
        locate_mnist()


def test_external_sets_are_mnist_style(external_dir):
    images, labels = load_eval_set("semeion", external_dir=external_dir)
    assert images.shape == (1593, 28, 28) and set(labels) == set(range(10))
    ys, xs = np.mgrid[:28, :28]
    mass = images[0].sum()
    assert abs((ys * images[0]).sum() / mass - 14) < 1.5 and abs((xs * images[0]).sum() / mass - 14) < 1.5


def test_digits_data_command(data_dir, capsys):
    assert main(["data", "--data-dir", str(data_dir), "--json"]) == 0
    import json

    report = json.loads(capsys.readouterr().out)
    assert report["verified"] and len(report["files"]) == 4


def test_digits_data_missing_is_one_line_error(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("DIGITS_DATA_DIR", raising=False)
    monkeypatch.setattr("handwritten_digits.data.mnist.CACHE", tmp_path / "cache")
    assert main(["data", "--data-dir", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("digits: error:") and err.count("\n") == 1
