"""``digits quantize``: an int8 copy of a CNN that reads as the float model does."""

from __future__ import annotations

import json

import numpy as np

from handwritten_digits.cli import main
from handwritten_digits.runtime import Recognizer


def test_quantized_model_agrees_with_the_float_model(data_dir, tmp_path, capsys):
    from handwritten_digits.data import load_dataset

    out = tmp_path / "int8.onnx"
    assert main(["quantize", "default", "--out", str(out), "--calibration", "200", "--data-dir", str(data_dir), "--json"]) == 0
    card = json.loads(capsys.readouterr().out)
    assert card["quantization"]["calibration"] == "200 validation images" and card["name"] == "int8"
    assert card["metrics"]["val"]["accuracy"] >= 0.99 and card["metrics"]["source"]["val"]["accuracy"] >= 0.99
    images, _ = load_dataset("test", data_dir)
    images = images[:500]
    quantized, full = Recognizer.load(out), Recognizer.load("default")
    assert out.stat().st_size < full.path.stat().st_size / 2  # int8 weights ...
    assert _widest_int8_weight(out) <= 64  # ... in a 7-bit range
    assert (quantized.predict(images) == full.predict(images)).mean() >= 0.99
    np.testing.assert_allclose(quantized.predict_proba(images), full.predict_proba(images), atol=0.2)


def test_a_quantized_model_in_a_run_folder_is_named_by_the_folder(data_dir, tmp_path, capsys):
    out = tmp_path / "wide-s3-int8" / "model.onnx"  # as training names runs/NAME/model.onnx
    assert main(["quantize", "default", "--out", str(out), "--calibration", "50", "--data-dir", str(data_dir), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["name"] == "wide-s3-int8" == Recognizer.load(out).name


def test_bundled_int8_model_reads_the_samples():
    from handwritten_digits.modelcard import ASSETS

    from handwritten_digits.reading.reader import Reader

    int8, full = Reader.load("default-int8"), Reader.load("default")
    for sample in ("number-2026.png", "photo-number-417.jpg"):
        path = ASSETS.parent / "samples" / sample
        assert int8.read(path).text == full.read(path).text


def _widest_int8_weight(path) -> int:
    import onnx
    from onnx import TensorProto, numpy_helper

    weights = [numpy_helper.to_array(t) for t in onnx.load(path).graph.initializer if t.data_type == TensorProto.INT8]
    assert weights
    return max(int(np.abs(w.astype(int)).max()) for w in weights)


def test_bundled_int8_weights_fit_in_seven_bits():
    """CPUs without VNNI (AVX2 only) add pairs of uint8 x int8 products in 16 bits: full-range weights
    overflow there and the model reads worse than where it was made. Weights within +-64 cannot."""
    from handwritten_digits.modelcard import ASSETS

    assert _widest_int8_weight(ASSETS / "default-int8.onnx") <= 64


def test_quantize_refuses_a_missing_model(tmp_path, capsys):
    assert main(["quantize", str(tmp_path / "nope.onnx"), "--out", str(tmp_path / "x.onnx")]) != 0
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "nope.onnx" in err
