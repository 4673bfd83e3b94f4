"""The ONNX runtime on the bundled model: loading, probabilities, reading real digits, errors."""

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from handwritten_digits import modelcard
from handwritten_digits.data import load_dataset
from handwritten_digits.errors import DigitsError
from handwritten_digits.runtime import Recognizer, softmax


@pytest.fixture(scope="module")
def recognizer():
    return Recognizer.load()


@pytest.fixture(scope="module")
def test_digits(data_dir):
    x, y = load_dataset("test", data_dir)
    return x[:40], y[:40]


def _png(image: np.ndarray, path, scale: int = 1, invert: bool = False):
    """Save a [0, 1] image as an 8-bit PNG, optionally enlarged and as dark ink on white paper."""
    pixels = np.clip(image * 255, 0, 255).astype(np.uint8)
    if invert:
        pixels = 255 - pixels
    img = Image.fromarray(pixels)
    if scale != 1:
        img = img.resize((img.width * scale, img.height * scale), Image.BILINEAR)
    img.save(path)
    return path


def test_bundled_model_loads_with_its_card(recognizer):
    assert recognizer.path == modelcard.resolve("default")
    assert recognizer.card["classes"] == list(range(10))
    assert recognizer.temperature > 0
    assert Recognizer.load("default").card == recognizer.card


def test_predict_proba_is_a_distribution(recognizer, test_digits):
    x, y = test_digits
    probs = recognizer.predict_proba(x)
    assert probs.shape == (len(x), 10) and probs.dtype == np.float32
    assert (probs >= 0).all()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert (recognizer.predict(x) == y).mean() >= 0.9
    assert recognizer.predict_proba(x[0]).shape == (1, 10)  # a single (28, 28) image


def test_temperature_is_applied(recognizer, test_digits):
    x, _ = test_digits
    logits = recognizer.logits(x[:8])
    saved = recognizer.temperature
    try:
        recognizer.temperature = 3.0
        np.testing.assert_allclose(recognizer.predict_proba(x[:8]), softmax(logits / 3.0), rtol=1e-5, atol=1e-6)
        hot = recognizer.predict_proba(x[:8]).max(axis=1)
        recognizer.temperature = 0.5
        cold = recognizer.predict_proba(x[:8]).max(axis=1)
        assert (cold >= hot).all() and (cold > hot).any()  # lower temperature, sharper probabilities
    finally:
        recognizer.temperature = saved


def test_classify_a_real_mnist_digit_from_png(recognizer, test_digits, tmp_path):
    x, y = test_digits
    correct = 0
    for i in range(10):
        result = recognizer.classify(_png(x[i], tmp_path / f"digit{i}.png", scale=4, invert=i % 2 == 1))
        assert result is not None and 0 <= result.confidence <= 1 and len(result.probabilities) == 10
        correct += result.digit == y[i]
    assert correct >= 9  # dark-on-white and white-on-black scans alike
    blank = tmp_path / "blank.png"
    Image.new("L", (64, 64), 255).save(blank)
    assert recognizer.classify(blank) is None


def test_read_returns_the_number(recognizer, test_digits, tmp_path):
    x, y = test_digits
    picks = [i for i in range(len(y)) if recognizer.predict(x[i])[0] == y[i]][:3]  # digits it knows alone
    gap = np.zeros((28, 10), dtype=np.float32)
    strip = np.concatenate([x[picks[0]], gap, x[picks[1]], gap, x[picks[2]]], axis=1)
    result = recognizer.read(_png(strip, tmp_path / "number.png", scale=3, invert=True))
    assert result.text == "".join(str(y[i]) for i in picks)
    boxes = [d.box for d in result.digits]
    assert boxes == sorted(boxes) and all(x1 > x0 and y1 > y0 for x0, y0, x1, y1 in boxes)
    assert json.loads(json.dumps(result.to_dict()))["text"] == result.text
    assert recognizer.read(_png(strip, tmp_path / "strict.png"), min_confidence=1.01).text == "???"


def test_wrong_input_shape_is_a_digits_error(recognizer):
    with pytest.raises(DigitsError, match="28, 28"):
        recognizer.predict(np.zeros((2, 32, 32), dtype=np.float32))


def test_missing_or_garbage_models_are_digits_errors(tmp_path):
    with pytest.raises(DigitsError, match="no such model"):
        Recognizer.load(tmp_path / "missing.onnx")
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"this is not an ONNX protobuf\x00\xff" * 10)
    with pytest.raises(DigitsError, match="card missing"):
        Recognizer.load(garbage)
    garbage.with_suffix(".json").write_text(json.dumps(modelcard.new_card()))
    with pytest.raises(DigitsError, match="not a loadable ONNX model"):
        Recognizer.load(garbage)
    garbage.with_suffix(".json").write_text("{not json")
    with pytest.raises(DigitsError, match="unreadable model card"):
        Recognizer.load(garbage)


def test_card_naming_an_absent_output_is_a_digits_error(tmp_path):
    source = modelcard.resolve("default")
    copy = tmp_path / "copy.onnx"
    copy.write_bytes(source.read_bytes())
    card = modelcard.read_card(source) | {"output": "no_such_output"}
    copy.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(DigitsError, match="no_such_output"):
        Recognizer.load(copy)


def test_runtime_imports_neither_torch_nor_sklearn():
    code = (
        "import sys, numpy as np\n"
        "from handwritten_digits.runtime import Recognizer\n"
        "r = Recognizer.load()\n"
        "assert r.predict_proba(np.zeros((1, 28, 28), dtype=np.float32)).shape == (1, 10)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'sklearn', 'skl2onnx')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
