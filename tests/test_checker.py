"""The segmentation checker: its training crops, the bundled network, and its training command."""

from __future__ import annotations

import json

import numpy as np
import pytest

from handwritten_digits.data.composites import MIX, cut_crops, make_crops


# about half of the composites are whole digits; of the cut parts, one per digit found whole, at most as many others
@pytest.mark.parametrize("make, share", [(make_crops, (MIX[0] - 0.1, MIX[0] + 0.1)), (cut_crops, (0.3, 0.6))])
def test_crops_are_deterministic_normalised_and_mixed(mnist_test, make, share):
    crops, whole = make(mnist_test[0][:500], 300, seed=3)
    again, whole_again = make(mnist_test[0][:500], 300, seed=3)
    np.testing.assert_array_equal(crops, again)
    np.testing.assert_array_equal(whole, whole_again)
    assert crops.shape == (300, 28, 28) and crops.dtype == np.float32
    assert crops.min() >= 0.0 and crops.max() <= 1.0
    assert (crops.reshape(300, -1).max(axis=1) > 0.5).all()  # every crop holds ink
    assert share[0] < whole.mean() < share[1]
    assert not np.array_equal(crops, make(mnist_test[0][:500], 300, seed=4)[0])


def test_bundled_checker_tells_whole_digits_from_pairs_and_parts(mnist_test):
    """Crops built from MNIST *test* digits, never seen in training."""
    from handwritten_digits.modelcard import CHECKER, read_card
    from handwritten_digits.runtime import _session, softmax

    crops, whole = make_crops(mnist_test[0], 1000, seed=11)
    session = _session(CHECKER, threads=1)
    p_whole = softmax(session.run(None, {"images": crops[:, None]})[0])[:, 1]
    accuracy = float(((p_whole > 0.5) == whole).mean())
    assert accuracy >= 0.95, accuracy  # validation accuracy is in the card
    assert read_card(CHECKER)["metrics"]["val"]["accuracy"] >= 0.95  # composites and cut parts together


def test_bundled_checker_tells_whole_digits_from_the_cut_searchs_near_misses(mnist_test):
    """Parts of touching MNIST *test* digits as the reader's cut search makes them. Measured: 93.7% for
    the bundled checker, 79.2% for the one trained on straight-cut composites alone."""
    from handwritten_digits.modelcard import CHECKER
    from handwritten_digits.runtime import _session, softmax

    crops, whole = cut_crops(mnist_test[0], 1000, seed=11)
    p_whole = softmax(_session(CHECKER, threads=1).run(None, {"images": crops[:, None]})[0])[:, 1]
    assert float(((p_whole > 0.5) == whole).mean()) >= 0.9


def test_reader_uses_the_checker(mnist_test):
    from handwritten_digits.runtime import Recognizer

    with_checker, without = Recognizer.load(threads=1), Recognizer.load(threads=1, checker=False)
    assert with_checker.checker is not None and without.checker is None
    images = mnist_test[0][:8]
    scores = with_checker.piece_scores(images)
    assert scores.shape == (8,) and (scores <= with_checker.predict_proba(images).max(axis=1) + 1e-6).all()
    assert without.piece_scores(images).shape == (8, 10)  # plain probabilities: the segmenter takes their max


def test_train_checker_dry_run(data_dir, tmp_path, capsys):
    from handwritten_digits.cli import main

    out = tmp_path / "checker"
    assert main(["train", "--model", "checker", "--dry-run", "--data-dir", str(data_dir), "--out", str(out), "--json"]) == 0
    card = json.loads(capsys.readouterr().out)
    assert card["kind"] == "checker" and card["architecture"]["name"] == "checker"
    assert (out / "model.pt").exists()
    from handwritten_digits.runtime import _session

    logits = _session(out / "model.onnx", threads=1).run(None, {"images": np.zeros((3, 1, 28, 28), np.float32)})[0]
    assert logits.shape == (3, 2)  # [not whole, whole]
    assert main(["predict", "--model", str(out / "model.onnx"), "-"]) == 2  # not a digit model: a clear error
    assert "segmentation checker" in capsys.readouterr().err
    assert card["command"].startswith("digits train --model checker")


def test_the_checker_trains_on_mnist_or_every_writer_only(data_dir, tmp_path, capsys):
    from handwritten_digits.cli import main

    out = tmp_path / "checker"
    assert main(["train", "--model", "checker", "--data", "mnist+photos", "--dry-run", "--data-dir", str(data_dir),
                 "--out", str(out)]) == 2
    assert "--data mnist or mixed" in capsys.readouterr().err
    assert not out.exists()


def test_checkers_are_compared_on_crops_and_on_whole_digits(mnist_test):
    from benchmarks.choose_checker import score
    from handwritten_digits.modelcard import CHECKER

    crops = make_crops(mnist_test[0][:300], 200, seed=1)
    row = score(str(CHECKER), {"crops": crops}, {"mnist": (mnist_test[0][:200], mnist_test[1][:200])})
    assert set(row) == {"checker", "crops", "mnist not whole", "mnist 1s not whole"}
    assert row["crops"] >= 0.9 and row["mnist not whole"] <= 0.1
