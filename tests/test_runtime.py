import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from handwritten_digits.data import load_dataset
from handwritten_digits.errors import DigitsError
from handwritten_digits.runtime import Recognizer


@pytest.fixture(scope="module")
def recognizer():
    return Recognizer.load()


def test_runtime_imports_neither_torch_nor_sklearn():
    code = ("import sys; from handwritten_digits.runtime import Recognizer; r = Recognizer.load(); "
            "r.read(__import__('numpy').zeros((40, 40))); "
            "print(sorted(m for m in ('torch', 'sklearn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_bundled_model_reads_mnist(recognizer, data_dir):
    images, labels = load_dataset("test", data_dir)
    probs = recognizer.predict_proba(images[:500])
    assert probs.shape == (500, 10)
    np.testing.assert_allclose(probs.sum(1), 1, atol=1e-5)
    assert (probs.argmax(1) == labels[:500]).mean() > 0.97


def test_classify_and_read_a_png(recognizer, data_dir, tmp_path):
    images, labels = load_dataset("test", data_dir)
    path = tmp_path / "digit.png"
    Image.fromarray(255 - (images[0] * 255).astype(np.uint8)).resize((112, 112)).save(path)  # dark ink on paper
    digit = recognizer.classify(path)
    assert digit.digit == labels[0] and 0.5 < digit.confidence <= 1
    assert recognizer.read(path).text == str(labels[0])


def test_temperature_is_applied(recognizer, data_dir):
    images, _ = load_dataset("val", data_dir)
    base = recognizer.temperature
    sharp = recognizer.predict_proba(images[:50]).max(1).mean()
    recognizer.temperature = base * 3
    try:
        assert recognizer.predict_proba(images[:50]).max(1).mean() < sharp
    finally:
        recognizer.temperature = base


def test_min_confidence_marks_doubtful_digits(recognizer, data_dir):
    images, _ = load_dataset("test", data_dir)
    result = recognizer.read(np.concatenate([images[0], images[1]], axis=1), min_confidence=1.01)
    assert result.text == "??" and all(d.rejected for d in result.digits)
    assert json.loads(json.dumps(result.to_dict()))["digits"][0]["rejected"] is True


def test_blank_image_yields_no_digit(recognizer):
    assert recognizer.read(np.ones((50, 50))).text == ""
    assert recognizer.classify(np.zeros((50, 50))) is None


def test_garbage_model_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    (tmp_path / "bad.json").write_text(json.dumps({"input": {"shape": [1, 28, 28]}}))
    with pytest.raises(DigitsError, match="not a loadable ONNX model"):
        Recognizer.load(bad)
    with pytest.raises(DigitsError, match="no such model"):
        Recognizer.load(tmp_path / "missing.onnx")
