"""Classic pipelines: ONNX export equals scikit-learn, the Deskew step, ``digits train`` end to end."""

import json

import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from handwritten_digits.cli import main
from handwritten_digits.data import load_dataset
from handwritten_digits.data.folder import save_folder
from handwritten_digits.errors import DigitsError
from handwritten_digits.models.classic import MODELS, Deskew, make_pipeline
from handwritten_digits.reading.normalize import deskew
from handwritten_digits.runtime import Recognizer
from handwritten_digits.training.classic import export_classic, fit_classic
from handwritten_digits.training.sklearn_onnx import onnx_bytes, split_deskew

QUICK = {"logreg": {"clf__max_iter": 60}, "forest": {"clf__n_estimators": 20}}  # seconds, not minutes


@pytest.fixture(scope="module")
def small(data_dir):
    x, y = load_dataset("train", data_dir)
    xv, yv = load_dataset("val", data_dir)
    return x[:1500], y[:1500], xv[:300], yv[:300]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name", MODELS)
def test_onnx_equals_sklearn(small, name):
    x, y, xv, yv = small
    pipeline = fit_classic(name, x, y, **QUICK.get(name, {}))
    recognizer, _ = export_classic(pipeline, {})
    assert recognizer.card["input"]["deskew"] == (name == "best")
    flat = xv.reshape(len(xv), 784)
    # the runtime gets raw (N, 28, 28) images: it deskews itself where the card says so
    np.testing.assert_array_equal(recognizer.predict(xv), pipeline.predict(flat))
    onnx_out = recognizer.logits(xv)
    if recognizer.card["output_kind"] == "probabilities":
        np.testing.assert_allclose(np.exp(onnx_out), pipeline.predict_proba(flat), atol=1e-4)
    else:  # SVC: one-vs-rest decision values, calibrated later by a temperature
        np.testing.assert_allclose(onnx_out, pipeline.decision_function(flat), atol=1e-3)
    assert (recognizer.predict(xv) == yv).mean() > 0.8  # and it learned something


def test_deskew_transformer_in_a_pipeline(small):
    x, y, xv, yv = small
    flat = x[:5].reshape(5, 784)
    out = Deskew().fit(flat).transform(flat)
    np.testing.assert_allclose(out.reshape(5, 28, 28)[2], deskew(x[2]), atol=1e-6)
    pipeline = Pipeline([("deskew", Deskew()), ("pca", PCA(30, random_state=0)),
                         ("clf", LogisticRegression(max_iter=200))]).fit(x.reshape(len(x), 784), y)
    assert pipeline.named_steps["deskew"].n_features_in_ == 784
    assert (pipeline.predict(xv.reshape(len(xv), 784)) == yv).mean() > 0.8
    assert make_pipeline("best").steps[0][0] == "deskew"
    with pytest.raises(ValueError, match="784"):
        Deskew().fit(np.zeros((3, 10)))
    with pytest.raises(ValueError, match="784"):
        Deskew().fit(flat).transform(x[:2])  # unflattened


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_split_deskew_and_export_errors(small):
    x, y, *_ = small
    onnx_part, needs_deskew = split_deskew(make_pipeline("best"))
    assert needs_deskew and [name for name, _ in onnx_part.steps] == ["pca", "clf"]
    assert split_deskew(make_pipeline("svm"))[1] is False
    with pytest.raises(DigitsError, match="first step"):
        split_deskew(Pipeline([("pca", PCA(5)), ("deskew", Deskew()), ("clf", LogisticRegression())]))
    with pytest.raises(DigitsError, match="cannot export"):
        onnx_bytes(Pipeline([("deskew", Deskew()), ("clf", LogisticRegression(max_iter=5))]).fit(
            x[:50].reshape(50, 784), y[:50]))


def test_fit_classic_rejects_bad_input(small):
    x, y, *_ = small
    with pytest.raises(DigitsError, match="shape"):
        fit_classic("logreg", x[:20, :10], y[:20])
    with pytest.raises(DigitsError, match="labels"):
        fit_classic("logreg", x[:20], y[:19])
    with pytest.raises(DigitsError, match="two classes"):
        fit_classic("logreg", x[:20], np.zeros(20, dtype=np.int64))
    with pytest.raises(DigitsError, match="unknown classic model"):
        fit_classic("resnet", x[:20], y[:20])


def test_train_command_writes_a_loadable_model(data_dir, tmp_path, capsys):
    out = tmp_path / "knn"
    code = main(["train", "--model", "knn", "--limit", "800", "--data-dir", str(data_dir), "--out", str(out), "--json"])
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    recognizer = Recognizer.load(out)
    card = recognizer.card
    assert printed["path"] == str(out / "model.onnx")
    assert card["kind"] == "classic" and card["input"]["shape"] == [784] and card["output"] == "probabilities"
    assert card["metrics"]["val"]["accuracy"] > 0.7 and card["metrics"]["test"]["n"] == 1000
    assert card["architecture"]["pipeline"] == [["pca", "PCA"], ["clf", "KNeighborsClassifier"]]
    assert card["training"]["train_images"] == 800 and card["training"]["seconds"] >= 0
    assert card["command"] == f"digits train --model knn --data-dir {data_dir} --limit 800 --out {out}"
    assert card["data"]["checksums"]["t10k-images-idx3-ubyte"].startswith("0fa7898d")
    xt, yt = load_dataset("test", data_dir)
    assert (recognizer.predict(xt[:500]) == yt[:500]).mean() > 0.75


def test_train_best_deskews_in_the_runtime(data_dir, tmp_path):
    out = tmp_path / "best.onnx"
    assert main(["train", "--model", "best", "--limit", "1000", "--data-dir", str(data_dir), "--out", str(out)]) == 0
    recognizer = Recognizer.load(out)
    assert recognizer.card["input"]["deskew"] is True and recognizer.card["output_kind"] == "scores"
    assert 0.05 < recognizer.temperature < 20  # fitted on validation, not left at 1
    xv, yv = load_dataset("val", data_dir)
    probs = recognizer.predict_proba(xv[-200:])
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert (probs.argmax(1) == yv[-200:]).mean() > 0.85


def test_train_on_a_folder_of_digits(data_dir, tmp_path):
    xv, yv = load_dataset("val", data_dir)
    folder = save_folder(xv[:300], yv[:300], tmp_path / "mine")
    out = tmp_path / "mine-model"
    assert main(["train", "--model", "logreg", "--data", f"folder:{folder}", "--val-size", "60", "--out", str(out)]) == 0
    card = Recognizer.load(out).card
    assert card["data"]["dataset"] == f"folder:{folder}" and card["data"]["images"] == 300
    assert "test" not in card["metrics"] and card["metrics"]["val"]["n"] == 60


def test_failed_training_keeps_the_good_model(data_dir, tmp_path, capsys, monkeypatch):
    out = tmp_path / "model"
    assert main(["train", "--model", "knn", "--dry-run", "--data-dir", str(data_dir), "--out", str(out)]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert set(before) == {"model.onnx", "model.json"}

    def broken_fit(*args, **kwargs):
        raise DigitsError("simulated failure in the middle of a fit")

    monkeypatch.setattr("handwritten_digits.training.classic.fit_classic", broken_fit)
    assert main(["train", "--model", "svm", "--limit", "300", "--data-dir", str(data_dir), "--out", str(out)]) != 0
    assert "simulated failure" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


@pytest.mark.parametrize("argv, message", [
    (["--data", "folder:/no/such/folder"], "not a folder"),
    (["--data", "emnist"], "unknown --data"),
    (["--val-size", "0"], "--val-size"),
    (["--limit", "3"], "--limit"),
])
def test_train_bad_input_is_one_line_error(data_dir, tmp_path, capsys, argv, message):
    out = tmp_path / "never"
    code = main(["train", "--model", "logreg", "--data-dir", str(data_dir), "--out", str(out), *argv])
    err = capsys.readouterr().err
    assert code != 0 and err.startswith("digits: error:") and message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
