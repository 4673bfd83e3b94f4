import json
import subprocess
import sys

import numpy as np
from PIL import Image

from handwritten_digits.cli import build_parser, main
from handwritten_digits.data import load_dataset


def _digit_png(data_dir, path, index=0):
    images, labels = load_dataset("test", data_dir)
    Image.fromarray((images[index] * 255).astype(np.uint8)).save(path)
    return int(labels[index])


def test_every_verb_has_help_with_defaults(capsys):
    parser = build_parser()
    verbs = parser._subparsers._group_actions[0].choices
    assert {"predict", "train", "evaluate", "info", "data", "ensemble"} <= set(verbs)
    for name, sub in verbs.items():
        text = sub.format_help()
        for action in sub._actions:
            if action.option_strings and action.help and action.default not in (None, False) and action.dest != "help":
                assert "default" in text, (name, action.dest)


def test_predict_json_lines(data_dir, tmp_path, capsys):
    label = _digit_png(data_dir, tmp_path / "a.png")
    _digit_png(data_dir, tmp_path / "b.png", 1)
    assert main(["predict", "--json", str(tmp_path)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["path"].endswith(n) for line, n in zip(lines, ["a.png", "b.png"])] == [True, True]
    assert lines[0]["text"] == str(label) and lines[0]["digits"][0]["digit"] == label


def test_predict_bad_file_keeps_going(data_dir, tmp_path, capsys):
    _digit_png(data_dir, tmp_path / "good.png")
    (tmp_path / "bad.png").write_bytes(b"definitely not a png")
    assert main(["predict", str(tmp_path / "bad.png"), str(tmp_path / "good.png")]) == 1
    captured = capsys.readouterr()
    assert "good.png:" in captured.out
    assert captured.err.count("\n") == 1 and "bad.png" in captured.err and "Traceback" not in captured.err


def test_predict_subprocess_and_save_inputs(data_dir, tmp_path):
    label = _digit_png(data_dir, tmp_path / "one.png")
    done = subprocess.run([sys.executable, "-m", "handwritten_digits", "predict", "--single", "--save-inputs",
                           str(tmp_path / "seen"), str(tmp_path / "one.png")], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith(f"{tmp_path / 'one.png'}: {label}")
    assert len(list((tmp_path / "seen").glob("*.png"))) == 1


def test_evaluate_json_and_report(data_dir, tmp_path, capsys):
    assert main(["evaluate", "--data-dir", str(data_dir), "--split", "val", "--limit", "300", "--json",
                 "--report", str(tmp_path / "rep"), "--model", "default", "--model", "default"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert 0.9 < result["accuracy"] <= 1 and result["n"] == 300 and len(result["models"]) == 2
    for name in ("metrics.json", "report.md", "error_reject.png"):
        assert (tmp_path / "rep" / name).exists()
    assert Image.open(tmp_path / "rep" / "error_reject.png").size[0] > 300


def test_info_and_bad_model(capsys):
    assert main(["info", "--json"]) == 0
    card = json.loads(capsys.readouterr().out)
    assert card["kind"] in ("cnn", "ensemble", "classic") and "metrics" in card
    assert main(["info", "/nonexistent/model.onnx"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("digits: error:") and err.count("\n") == 1


def test_ensemble_of_two_models(data_dir, tmp_path, capsys):
    out = tmp_path / "ens.onnx"
    assert main(["ensemble", "default", "default", "--out", str(out), "--data-dir", str(data_dir)]) == 0
    from handwritten_digits.runtime import Recognizer

    single, both = Recognizer.load(), Recognizer.load(out)
    images, _ = load_dataset("val", data_dir)
    np.testing.assert_allclose(both.predict_proba(images[:20]).argmax(1), single.predict_proba(images[:20]).argmax(1))
    assert both.card["kind"] == "ensemble" and len(both.card["architecture"]["members"]) == 2
