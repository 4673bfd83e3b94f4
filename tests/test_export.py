"""ONNX export of CNNs and ensembles: what the runtime reads equals what PyTorch computes."""

import json

import numpy as np
import pytest
import torch

from handwritten_digits.cli import main
from handwritten_digits.errors import DigitsError
from handwritten_digits.models.cnn import build_model
from handwritten_digits.runtime import Recognizer, softmax
from handwritten_digits.training.ensemble import build_ensemble
from handwritten_digits.training.export import export_model

torch.set_num_threads(1)


def _member(tmp_path, name, arch, temperature, seed):
    torch.manual_seed(seed)
    model = build_model(arch).eval()
    path = export_model(model, tmp_path / f"{name}.onnx", name=name, architecture={"name": arch}, temperature=temperature)
    return model, path


def test_export_has_dynamic_batch_and_a_complete_card(tmp_path):
    model, path = _member(tmp_path, "m", "fast", 1.5, 0)
    recognizer = Recognizer.load(path)
    card = recognizer.card
    assert card["kind"] == "cnn" and card["output"] == "logits" and card["input"]["shape"] == [1, 28, 28]
    for n in (1, 7, 300):  # any batch size
        assert recognizer.logits(np.random.rand(n, 28, 28).astype(np.float32)).shape == (n, 10)
    x = torch.rand(5, 1, 28, 28)
    with torch.no_grad():
        expected = softmax(model(x).numpy() / 1.5)
    np.testing.assert_allclose(recognizer.predict_proba(x[:, 0].numpy()), expected, atol=1e-5)


def test_ensemble_averages_calibrated_member_probabilities(tmp_path, capsys):
    (a, path_a), (b, path_b) = _member(tmp_path, "a", "fast", 1.0, 0), _member(tmp_path, "b", "accurate", 2.0, 1)
    out = tmp_path / "ens.onnx"
    assert main(["ensemble", str(path_a), str(path_b), "--out", str(out), "--no-validate"]) == 0
    recognizer = Recognizer.load(out)
    assert [m["name"] for m in recognizer.card["architecture"]["members"]] == ["a", "b"]
    assert recognizer.card["output"] == "logits" and "ensemble" in recognizer.card["command"]
    x = torch.rand(9, 1, 28, 28)
    with torch.no_grad():
        expected = np.log((softmax(a(x).numpy() / 1.0) + softmax(b(x).numpy() / 2.0)) / 2)
    np.testing.assert_allclose(recognizer.logits(x[:, 0].numpy()), expected, atol=1e-5)
    assert json.loads(out.with_suffix(".json").read_text())["kind"] == "ensemble"


def test_ensemble_needs_two_compatible_members(tmp_path):
    _, path = _member(tmp_path, "a", "fast", 1.0, 0)
    with pytest.raises(DigitsError, match="at least two"):
        build_ensemble([path])
    flat = tmp_path / "flat.onnx"
    flat.write_bytes(path.read_bytes())
    card = json.loads(path.with_suffix(".json").read_text()) | {"input": {"shape": [784], "range": [0, 1], "deskew": True}}
    flat.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(DigitsError, match="share one input shape"):
        build_ensemble([path, flat])
