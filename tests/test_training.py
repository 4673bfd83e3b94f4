"""Temperature calibration and fine-tuning a CNN on a user's own folder of digits."""

import json

import numpy as np
import torch

from handwritten_digits.cli import main
from handwritten_digits.data import load_dataset
from handwritten_digits.data.folder import save_folder
from handwritten_digits.evaluation.calibration import _nll, expected_calibration_error, fit_temperature
from handwritten_digits.runtime import Recognizer, softmax

torch.set_num_threads(1)


def test_temperature_fixes_an_overconfident_model():
    rng = np.random.default_rng(0)
    true_logits = rng.normal(0, 2.5, size=(4000, 10))
    probs = softmax(true_logits)
    labels = np.array([rng.choice(10, p=p) for p in probs])  # labels drawn from the true probabilities
    overconfident = 3.0 * true_logits
    t = fit_temperature(overconfident, labels)
    assert 2.5 < t < 3.5
    assert _nll(overconfident, labels, t) < _nll(overconfident, labels, 1.0) - 0.1
    before = expected_calibration_error(softmax(overconfident), labels)
    after = expected_calibration_error(softmax(overconfident / t), labels)
    assert after < before / 2


def _train(*args):
    return main(["train", "--model", "cnn", "--recipe", "fast", "--threads", "1", *args])


def test_fine_tune_on_a_folder_starts_from_the_given_model(data_dir, tmp_path):
    base = tmp_path / "base"
    assert _train("--data-dir", str(data_dir), "--limit", "2000", "--epochs", "2", "--out", str(base)) == 0
    images, labels = load_dataset("val", data_dir)
    folder = save_folder(images[:300], labels[:300], tmp_path / "mine")
    # a learning rate too small to move the weights: the result must predict like the base model
    tuned = tmp_path / "tuned"
    assert _train("--data", f"folder:{folder}", "--init", str(base / "model.onnx"), "--epochs", "1", "--lr", "1e-7",
                  "--out", str(tuned)) == 0
    card = json.loads((tuned / "model.json").read_text())
    assert card["data"]["dataset"] == f"folder:{folder}" and card["training"]["init"] == str(base / "model.onnx")
    assert card["architecture"] == json.loads((base / "model.json").read_text())["architecture"]
    test_images = images[1000:1500]
    agree = (Recognizer.load(tuned).predict(test_images) == Recognizer.load(base).predict(test_images)).mean()
    assert agree > 0.9


def test_init_without_weights_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "m.onnx").write_bytes(b"x")
    (tmp_path / "m.json").write_text("{}")
    assert _train("--init", str(tmp_path / "m.onnx"), "--out", str(tmp_path / "o")) == 2
    assert "--init needs the weights" in capsys.readouterr().err


def test_coarse_digits_without_photo_data_or_writers_is_a_clear_error(data_dir, tmp_path, capsys):
    assert _train("--coarse-digits", "10", "--data-dir", str(data_dir), "--dry-run", "--out", str(tmp_path / "o")) == 2
    assert "--coarse-digits" in capsys.readouterr().err
    assert _train("--data", "mnist+photos", "--coarse-digits", "10", "--coarse-from", "all", "--data-dir", str(data_dir),
                  "--dry-run", "--out", str(tmp_path / "o")) == 2
    assert "--coarse-from all" in capsys.readouterr().err


def test_photo_inputs_are_pipeline_inputs_of_the_right_digits(data_dir):
    from handwritten_digits.data.composites import photo_inputs

    images, labels = load_dataset("val", data_dir)
    x, y = photo_inputs(images[:80], labels[:80], 50, seed=2)
    assert 45 <= len(y) <= 50 and x.shape == (len(y), 28, 28) and x.dtype == np.float32
    assert x.min() >= 0 and x.max() <= 1
    mass = x.sum(axis=(1, 2))
    cy = (x.sum(axis=2) * np.arange(28)).sum(axis=1) / mass
    cx = (x.sum(axis=1) * np.arange(28)).sum(axis=1) / mass
    assert np.abs(cy - 14).max() < 2.5 and np.abs(cx - 14).max() < 2.5  # centred by mass, as MNIST
    assert (Recognizer.load("default").predict(x) == y).mean() >= 0.9  # the labels belong to the digits


def test_number_pieces_are_labelled_in_reading_order(data_dir):
    from handwritten_digits.data.composites import number_piece_inputs

    images, labels = load_dataset("val", data_dir)
    x, y = number_piece_inputs(images[:200], labels[:200], 12, seed=3)
    assert len(y) >= 2 * 8 and x.shape == (len(y), 28, 28)  # most numbers split into as many digits as drawn
    assert (Recognizer.load("default").predict(x) == y).mean() >= 0.9  # labels follow the pieces left to right


def test_page_pieces_are_labelled_by_the_page_truth(data_dir):
    from handwritten_digits.data.composites import page_piece_inputs
    from handwritten_digits.reading.reader import Reader

    images, labels = load_dataset("val", data_dir)
    read = Reader.load(threads=1).read
    x, y = page_piece_inputs(images[:300], labels[:300], 3, read, seed=1)
    assert len(y) >= 20 and x.shape == (len(y), 28, 28) and x.dtype == np.float32
    assert (Recognizer.load("default").predict(x) == y).mean() >= 0.9  # each piece carries its own digit's label

    def upside_down(image):  # lines read in the wrong order: their digits no longer match the truth's lines
        result = read(image)
        result.lines.reverse()
        return result

    x2, y2 = page_piece_inputs(images[:300], labels[:300], 3, upside_down, seed=1)
    assert len(y2) < len(y) and x2.shape == (len(y2), 28, 28)


def test_page_pieces_train_only_with_photo_data(data_dir, tmp_path, capsys):
    assert _train("--pages", "2", "--data-dir", str(data_dir), "--dry-run", "--out", str(tmp_path / "o")) == 2
    assert "--pages" in capsys.readouterr().err
    out = tmp_path / "pages"
    assert _train("--data", "mnist+photos", "--pages", "2", "--data-dir", str(data_dir), "--dry-run", "--out", str(out)) == 0
    card = json.loads((out / "model.json").read_text())
    assert card["data"]["pages"] == 2 and card["data"]["page_pieces"] >= 10


def test_train_on_mnist_plus_photos_dry_run(data_dir, tmp_path):
    out = tmp_path / "photos"
    assert _train("--data", "mnist+photos", "--coarse-digits", "64", "--data-dir", str(data_dir), "--dry-run",
                  "--out", str(out)) == 0
    card = json.loads((out / "model.json").read_text())
    assert card["data"]["dataset"] == "mnist+photos" and card["data"]["photo_digits"] >= 200  # 256 asked
    assert card["data"]["coarse_digits"] == 64
    assert card["data"]["number_pieces"] >= 100  # from 64 numbers


def test_writers_weight_only_weighs_the_writers_of_mixed(data_dir, tmp_path, capsys):
    for weight in ("0", "2"):
        assert _train("--writers-weight", weight, "--data-dir", str(data_dir), "--dry-run", "--out", str(tmp_path / "o")) == 2
        assert "--writers-weight" in capsys.readouterr().err
