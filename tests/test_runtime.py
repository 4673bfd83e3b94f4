import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from handwritten_digits import modelcard
from handwritten_digits.data import load_dataset
from handwritten_digits.errors import DigitsError
from handwritten_digits.runtime import Recognizer, in_batches, softmax


@pytest.fixture(scope="module")
def recognizer():
    return Recognizer.load()


@pytest.fixture(scope="module")
def reader(recognizer):
    from handwritten_digits.reading.reader import Reader

    return Reader(recognizer)


def test_runtime_imports_neither_torch_nor_sklearn():
    code = ("import sys; from handwritten_digits.reading.reader import Reader; r = Reader.load(); "
            "r.read(__import__('numpy').zeros((40, 40))); "
            "print(sorted(m for m in ('torch', 'sklearn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_bundled_model_reads_mnist(recognizer, data_dir):
    images, labels = load_dataset("test", data_dir)
    probs = recognizer.predict_proba(images[:500])
    assert probs.shape == (500, 10)
    np.testing.assert_allclose(recognizer.probabilities(images[:500]).sum(1), 1, atol=1e-5)
    assert (probs.sum(1) <= 1 + 1e-5).all()  # with a "not a digit" class, the digits share what it leaves
    assert (probs.argmax(1) == labels[:500]).mean() > 0.97


def test_classify_and_read_a_png(reader, data_dir, tmp_path):
    images, labels = load_dataset("test", data_dir)
    path = tmp_path / "digit.png"
    Image.fromarray(255 - (images[0] * 255).astype(np.uint8)).resize((112, 112)).save(path)  # dark ink on paper
    digit = reader.classify(path)
    assert digit.digit == labels[0] and 0.5 < digit.confidence <= 1
    assert reader.read(path).text == str(labels[0])


def test_temperature_is_applied(recognizer, data_dir):
    images, _ = load_dataset("val", data_dir)
    base = recognizer.temperature
    sharp = recognizer.predict_proba(images[:50]).max(1).mean()
    recognizer.temperature = base * 3
    try:
        assert recognizer.predict_proba(images[:50]).max(1).mean() < sharp
    finally:
        recognizer.temperature = base


def test_min_confidence_marks_doubtful_digits(reader, data_dir):
    images, _ = load_dataset("test", data_dir)
    result = reader.read(np.concatenate([images[0], images[1]], axis=1), min_confidence=1.01)
    assert result.text == "??" and all(d.rejected for d in result.digits)
    assert json.loads(json.dumps(result.to_dict()))["digits"][0]["rejected"] is True


def test_blank_image_yields_no_digit(reader):
    assert reader.read(np.ones((50, 50))).text == ""
    assert reader.classify(np.zeros((50, 50))) is None


def test_garbage_model_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    (tmp_path / "bad.json").write_text(json.dumps({"input": {"shape": [1, 28, 28]}}))
    with pytest.raises(DigitsError, match="not a loadable ONNX model"):
        Recognizer.load(bad)
    with pytest.raises(DigitsError, match="no such model"):
        Recognizer.load(tmp_path / "missing.onnx")


# --- engineer B: the rest of the runtime contract


@pytest.fixture(scope="module")
def test_digits(data_dir):
    x, y = load_dataset("test", data_dir)
    return x[:40], y[:40]


def _png(image: np.ndarray, path, scale: int = 1, invert: bool = False):
    """Save a [0, 1] image as an 8-bit PNG, optionally enlarged and as dark ink on white paper."""
    pixels = np.clip(image * 255, 0, 255).astype(np.uint8)
    img = Image.fromarray(255 - pixels if invert else pixels)
    if scale != 1:
        img = img.resize((img.width * scale, img.height * scale), Image.BILINEAR)
    img.save(path)
    return path


def test_bundled_model_loads_with_its_card(recognizer):
    assert recognizer.path == modelcard.resolve("default")
    assert recognizer.card["classes"] == list(range(10)) + ["not a digit", "several digits"] and recognizer.temperature > 0
    assert recognizer.open_set and 0 < recognizer.not_digit_threshold < 1
    assert recognizer.predict_proba(np.zeros((28, 28), dtype=np.float32)).shape == (1, 10)  # one image


def test_temperature_divides_the_logits(recognizer, test_digits):
    x, _ = test_digits
    logits = recognizer.logits(x[:8])
    saved = recognizer.temperature
    try:
        recognizer.temperature = 3.0
        np.testing.assert_allclose(recognizer.probabilities(x[:8]), softmax(logits / 3.0), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(recognizer.predict_proba(x[:8]), softmax(logits / 3.0)[:, :10], rtol=1e-5, atol=1e-6)
    finally:
        recognizer.temperature = saved


def test_classify_real_digits_in_both_polarities(reader, test_digits, tmp_path):
    x, y = test_digits
    correct = 0
    for i in range(10):
        result = reader.classify(_png(x[i], tmp_path / f"digit{i}.png", scale=4, invert=i % 2 == 1))
        assert result is not None and 0 <= result.confidence <= 1 and len(result.probabilities) == 10
        correct += result.digit == y[i]
    assert correct >= 9  # dark-on-white scans and white-on-black drawings alike


def test_read_a_three_digit_number_left_to_right(reader, recognizer, test_digits, tmp_path):
    x, y = test_digits
    picks = [i for i in range(len(y)) if recognizer.predict(x[i])[0] == y[i]][:3]  # digits it knows alone
    gap = np.zeros((28, 10), dtype=np.float32)
    strip = np.concatenate([x[picks[0]], gap, x[picks[1]], gap, x[picks[2]]], axis=1)
    result = reader.read(_png(strip, tmp_path / "number.png", scale=3, invert=True))
    assert result.text == "".join(str(y[i]) for i in picks)
    boxes = [d.box for d in result.digits]
    assert boxes == sorted(boxes) and all(x1 > x0 and y1 > y0 for x0, y0, x1, y1 in boxes)


def test_wrong_input_shape_is_a_digits_error(recognizer):
    with pytest.raises(DigitsError, match="28, 28"):
        recognizer.predict(np.zeros((2, 32, 32), dtype=np.float32))


def test_missing_or_unreadable_cards_are_digits_errors(tmp_path):
    model = tmp_path / "model.onnx"
    model.write_bytes(modelcard.resolve("default").read_bytes())
    with pytest.raises(DigitsError, match="card missing"):
        Recognizer.load(model)
    model.with_suffix(".json").write_text("{not json")
    with pytest.raises(DigitsError, match="unreadable model card"):
        Recognizer.load(model)
    card = modelcard.read_card(modelcard.resolve("default")) | {"output": "no_such_output"}
    model.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(DigitsError, match="no_such_output"):
        Recognizer.load(model)


def test_reading_reuses_the_probabilities_it_scored_pieces_with(recognizer, test_digits):
    """The digits chosen while segmenting are not run through the model again, and their
    probabilities are exactly the model's on the inputs returned."""
    from handwritten_digits.reading.reader import Reader

    class Counting:
        open_set = recognizer.open_set

        def __init__(self):
            self.proba_calls = self.score_calls = 0

        def probabilities(self, images):
            self.proba_calls += 1
            return recognizer.probabilities(images)

        def not_digit(self, images=None, probs=None):
            return recognizer.not_digit(images, probs)

        def piece_scores(self, images, probs=None, among_digits=False):
            self.score_calls += 1
            return recognizer.piece_scores(images, probs, among_digits)

    x, y = test_digits
    strip = np.concatenate([x[0], np.zeros((28, 12), np.float32), x[1]], axis=1)
    counting = Counting()
    result = Reader(counting).read(np.kron(strip, np.ones((3, 3), np.float32)))
    assert len(result.digits) == 2
    assert counting.proba_calls == counting.score_calls >= 1
    expected = recognizer.predict_proba(np.stack([d.image for d in result.digits]))
    assert np.allclose([d.probabilities for d in result.digits], expected, atol=1e-6)


class _Fixed:
    """An ONNX Runtime session that gives every image the same probabilities (as log-probabilities)."""

    def __init__(self, probs):
        self.logits = np.log(np.asarray(probs, np.float32))

    def get_inputs(self):
        return [type("Input", (), {"name": "images"})]

    def get_outputs(self):
        return [type("Output", (), {"name": "logits"})]

    def run(self, names, feeds):
        return [np.tile(self.logits, (len(feeds["images"]), 1))]


@pytest.mark.parametrize("not_digit, several, expected", [(0.93, 0.0, 0.9), (0.98, 0.0, 0.018), (0.0, 0.5, 0.45)])
def test_a_piece_a_cut_search_may_split_is_weighed_among_the_digits(tmp_path, not_digit, several, expected):
    """Weighed uncut (``among_digits``), a crop the model reads as a digit leaves out its "not a digit"
    share (a 7 with a long serif, 0.93 of it, was cut into "17"), not its "several digits" share; a mark
    keeps it, and so does every crop weighed otherwise (a part of a mark is no likelier a digit)."""
    digits = np.full(10, 0.1 * (1 - not_digit - several) / 10)
    digits[7] = 0.9 * (1 - not_digit - several)
    card = {"input": {"shape": [1, 28, 28]}, "classes": [str(k) for k in range(10)] + ["not a digit", "several digits"],
            "not_digit_threshold": 0.975}
    recognizer = Recognizer(_Fixed([*digits, not_digit, several]), card, tmp_path / "fixed.onnx")
    images = np.zeros((2, 28, 28), np.float32)
    scores = recognizer.piece_scores(images, among_digits=True)
    assert scores.shape == (2, 10)
    np.testing.assert_allclose(scores.max(axis=1), expected, rtol=0.02)
    np.testing.assert_allclose(recognizer.piece_scores(images).max(axis=1), digits[7], rtol=0.02)


def test_in_batches_equals_one_call_and_respects_the_batch(recognizer, data_dir):
    images = load_dataset("val", data_dir)[0][:250]
    sizes = []

    def logits(batch):
        sizes.append(len(batch))
        return recognizer.logits(batch)

    np.testing.assert_allclose(in_batches(logits, images, batch=100), recognizer.logits(images), atol=1e-5)
    assert sizes == [100, 100, 50]
    assert in_batches(recognizer.predict, images, desc="progress").tolist() == recognizer.predict(images).tolist()


@pytest.mark.parametrize("card", [[], {}, {"input": {}}, {"input": {"shape": [1, 28, 27]}},
                                  {"input": {"shape": [1, 28, 28], "deskew": "yes"}},
                                  {"input": {"shape": [1, 28, 28]}, "temperature": "hot"},
                                  {"input": {"shape": [1, 28, 28]}, "temperature": 0},
                                  {"input": {"shape": [1, 28, 28]}, "output_kind": "votes"},
                                  {"input": {"shape": [1, 28, 28]}, "output": 3}])
def test_malformed_cards_are_one_line_errors_everywhere(tmp_path, capsys, card):
    """predict, info, serve and train --init read the card through one check: never a traceback."""
    from handwritten_digits.cli import main

    model = tmp_path / "model.onnx"
    model.write_bytes(modelcard.resolve("default").read_bytes())
    model.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(DigitsError, match="bad model card"):
        Recognizer.load(model)
    for argv in (["info", str(model)], ["predict", "--model", str(model), str(model)]):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and "bad model card" in err and "Traceback" not in err
