"""``digits evaluate`` and ``digits info`` end to end, with a tiny ONNX model built here and the bundled one."""

import json

import numpy as np
import pytest
from PIL import Image

from handwritten_digits import modelcard
from handwritten_digits.cli import main
from handwritten_digits.data import load_dataset
from handwritten_digits.runtime import Recognizer

LIMIT = 400


@pytest.fixture(scope="module")
def logistic_model(data_dir, tmp_path_factory):
    """A MatMul+Add+Softmax ONNX model with nearest-centroid-like weights: real, imperfect predictions."""
    from onnx import TensorProto, helper, numpy_helper

    images, labels = load_dataset("train", data_dir)
    x, y = images[:6000].reshape(6000, -1), labels[:6000]
    centroids = np.stack([x[y == k].mean(0) for k in range(10)])
    # -|x - c|^2 / 2 up to a per-row constant = x.c - |c|^2 / 2: a linear model
    w = (centroids.T * 8.0).astype(np.float32)
    b = (-(centroids**2).sum(1) / 2 * 8.0).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["input", "W"], ["z"]), helper.make_node("Add", ["z", "B"], ["logits"]),
         helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1)],
        "logistic", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [None, 784])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 10])],
        [numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "B")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    card = modelcard.new_card(name="centroid", kind="classic", input={"shape": [784], "range": [0.0, 1.0], "deskew": False},
                              output="probabilities", architecture={"type": "nearest centroid as a linear model"},
                              training={"train_images": 6000}, metrics={"val": {"accuracy": 0.8, "n": 5000}},
                              data={"checksums": {"train-images-idx3-ubyte": "0" * 64}}, command="test fixture")
    return modelcard.save_model(model.SerializeToString(), card, tmp_path_factory.mktemp("model") / "centroid.onnx")


def _val(data_dir, n=LIMIT):
    images, labels = load_dataset("val", data_dir)
    return images[:n], labels[:n]


def test_json_one_model_matches_predictions(data_dir, logistic_model, capsys):
    assert main(["evaluate", "--model", str(logistic_model), "--data-dir", str(data_dir), "--split", "val",
                 "--limit", str(LIMIT), "--json"]) == 0
    out = capsys.readouterr().out
    result = json.loads(out)  # exactly one JSON object
    images, labels = _val(data_dir)
    predicted = Recognizer.load(logistic_model).predict(images)
    assert result["n"] == LIMIT and result["dataset"] == "val" and result["model"] == "centroid"
    assert result["path"] == str(logistic_model)
    assert 0 <= result["accuracy"] <= 1
    assert result["accuracy"] == pytest.approx((predicted == labels).mean())
    assert 0.5 < result["accuracy"] < 0.99  # an imperfect model, so the metrics are not trivially 1
    assert np.array(result["confusion_matrix"]).sum() == LIMIT
    assert [m["model"] for m in result["models"]] == ["centroid"]
    for key in ("top2_accuracy", "log_loss", "ece", "macro_f1", "per_class", "error_reject", "reliability"):
        assert key in result


def test_two_models_compare_and_report(data_dir, logistic_model, tmp_path, capsys):
    report = tmp_path / "report"
    assert main(["evaluate", "--model", str(logistic_model), "--model", "default", "--data-dir", str(data_dir),
                 "--split", "val", "--limit", str(LIMIT), "--report", str(report)]) == 0
    out = capsys.readouterr().out
    bundled = Recognizer.load("default").name
    rows = [line for line in out.splitlines() if line.startswith(("centroid", bundled))]
    assert len(rows) == 2 and "accuracy" in out
    metrics = json.loads((report / "metrics.json").read_text())
    assert list(metrics["models"]) == ["centroid", bundled] and metrics["dataset"] == "val"
    text = (report / "report.md").read_text()
    assert f"| centroid | {LIMIT} |" in text and f"| {bundled} | {LIMIT} |" in text
    pngs = ["error_reject.png", "reliability.png", "confusion_centroid.png", "mistakes_centroid.png",
            f"confusion_{bundled}.png"]
    for name in pngs:
        with Image.open(report / name) as im:
            im.verify()
        with Image.open(report / name) as im:
            assert im.format == "PNG" and im.size[0] > 300 and np.asarray(im.convert("L")).std() > 5  # not blank
        assert f"({name})" in text or name in ("reliability.png", "error_reject.png")


def test_json_two_models(data_dir, logistic_model, capsys):
    assert main(["evaluate", "--model", "default", "--model", str(logistic_model), "--data-dir", str(data_dir),
                 "--split", "val", "--limit", "200", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [m["model"] for m in result["models"]][1] == "centroid"
    assert result["accuracy"] == result["models"][0]["accuracy"]  # top level = the first model
    assert result["models"][0]["accuracy"] > result["models"][1]["accuracy"]


def test_folder_dataset(data_dir, logistic_model, tmp_path, capsys):
    images, labels = _val(data_dir, 30)
    for i, (im, y) in enumerate(zip(images, labels)):
        (tmp_path / str(y)).mkdir(exist_ok=True)
        Image.fromarray((im * 255).astype(np.uint8)).save(tmp_path / str(y) / f"{i}.png")
    assert main(["evaluate", "--model", str(logistic_model), "--dataset", f"folder:{tmp_path}", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n"] == 30 and result["dataset"] == f"folder:{tmp_path}" and 0 <= result["accuracy"] <= 1


@pytest.mark.parametrize("argv", [
    ["evaluate", "--model", "/nonexistent/model.onnx", "--split", "val"],
    ["evaluate", "--dataset", "mnist-ish", "--limit", "5"],
    ["evaluate", "--limit", "0"],
])
def test_errors_are_one_line(argv, data_dir, capsys):
    assert main(argv + ["--data-dir", str(data_dir)]) != 0
    err = capsys.readouterr().err
    assert err.startswith("digits: error:") and err.count("\n") == 1 and "Traceback" not in err


def test_info_human_and_json(logistic_model, capsys):
    assert main(["info", str(logistic_model)]) == 0
    out = capsys.readouterr().out
    for expected in ("centroid", "classic", "nearest centroid", "784", "val", "80.00", "test fixture", "0" * 64):
        assert expected in out, expected
    assert main(["info", str(logistic_model), "--json"]) == 0
    card = json.loads(capsys.readouterr().out)
    assert card["name"] == "centroid" and card["input"]["shape"] == [784]


def test_info_bundled(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert Recognizer.load("default").name in out and "input" in out
