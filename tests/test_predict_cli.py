"""``digits predict``: outputs, options, inputs (files, folders, globs, stdin) and one real subprocess run."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from handwritten_digits.cli import main

SAMPLES = Path(__file__).resolve().parents[1] / "src" / "handwritten_digits" / "assets" / "samples"
EXPECTED = {"digit-7.png": "7", "digit-3-light-on-dark.png": "3", "number-2026.png": "2026", "photo-number-417.jpg": "417"}


def test_samples_are_small_and_present():
    assert sorted(p.name for p in SAMPLES.iterdir()) == sorted(EXPECTED)
    assert sum(p.stat().st_size for p in SAMPLES.iterdir()) < 100_000


def test_human_output_reads_every_sample(capsys):
    code = main(["predict", *(str(SAMPLES / name) for name in sorted(EXPECTED))])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    for line, name in zip(out, sorted(EXPECTED)):
        path, rest = line.split(": ", 1)
        assert path == str(SAMPLES / name)
        text, confidences = rest.split("  ")
        assert text == EXPECTED[name]
        assert len(confidences.strip("()").split()) == len(text)


def test_json_lines(capsys):
    assert main(["predict", "--json", str(SAMPLES / "number-2026.png")]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    data = json.loads(line)
    assert data["path"].endswith("number-2026.png") and data["text"] == "2026"
    assert len(data["digits"]) == 4
    width, height = Image.open(SAMPLES / "number-2026.png").size
    for d in data["digits"]:
        assert set(d) == {"digit", "confidence", "box", "probabilities", "rejected"}
        assert len(d["probabilities"]) == 10 and 0.5 < sum(d["probabilities"]) <= 1 + 1e-4  # the rest: not a digit
        x0, y0, x1, y1 = d["box"]
        assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
    (line,) = data["lines"]
    (number,) = line["numbers"]
    assert line["text"] == number["text"] == "2026" and number["digits"] == [0, 1, 2, 3]
    assert number["confidence"] == pytest.approx(np.prod([d["confidence"] for d in data["digits"]]), rel=1e-4)


def test_csv_has_a_row_per_number(capsys, tmp_path):
    blank = tmp_path / "blank.png"
    Image.new("L", (64, 64), 255).save(blank)
    assert main(["predict", "--csv", str(SAMPLES / "digit-7.png"), str(SAMPLES / "number-2026.png"), str(blank)]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert list(rows[0]) == ["path", "line", "number", "text", "confidence", "x0", "y0", "x1", "y1", "error"]
    assert [(r["line"], r["number"], r["text"]) for r in rows] == [("1", "1", "7"), ("1", "1", "2026"), ("", "", "")]
    width, height = Image.open(SAMPLES / "number-2026.png").size
    x0, y0, x1, y1 = (int(rows[1][k]) for k in ("x0", "y0", "x1", "y1"))
    assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
    assert 0.5 < float(rows[1]["confidence"]) <= 1 and rows[2]["error"] == ""


def test_single_treats_the_image_as_one_digit(capsys):
    assert main(["predict", "--single", "--json", str(SAMPLES / "number-2026.png"), str(SAMPLES / "digit-7.png")]) == 0
    many, one = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    # four digits read as one piece: one answer, and never a sure digit (a mark, or a doubtful digit)
    assert len(many["digits"]) + len(many["marks"]) == 1
    assert all(d["confidence"] < 0.5 for d in many["digits"])
    assert one["text"] == "7" and one["marks"] == []


def test_min_confidence_marks_doubtful_digits(capsys):
    assert main(["predict", "--json", "--min-confidence", "1", str(SAMPLES / "photo-number-417.jpg")]) == 0
    data = json.loads(capsys.readouterr().out)
    # nothing is ever 100% sure after temperature scaling: every digit becomes '?'
    assert data["text"] == "???" and all(d["rejected"] for d in data["digits"])
    assert main(["predict", "--min-confidence", "1.5", str(SAMPLES / "digit-7.png")]) == 2
    assert "between 0 and 1" in capsys.readouterr().err


def test_save_inputs(tmp_path, capsys):
    out = tmp_path / "seen"
    assert main(["predict", "--save-inputs", str(out), str(SAMPLES / "number-2026.png")]) == 0
    files = sorted(out.iterdir())
    assert [f.name for f in files] == [f"number-2026-{i}-{c}.png" for i, c in enumerate("2026")]
    img = np.asarray(Image.open(files[0]))
    assert img.shape == (28, 28) and img.max() > 200 and img[0].max() == 0  # bright ink on black, as MNIST


def test_folders_globs_and_recursive(tmp_path, capsys):
    shutil.copy(SAMPLES / "digit-7.png", tmp_path / "a.png")
    (tmp_path / "sub").mkdir()
    shutil.copy(SAMPLES / "number-2026.png", tmp_path / "sub" / "b.png")
    (tmp_path / "notes.txt").write_text("not an image")  # not an image suffix: skipped in folders
    assert main(["predict", str(tmp_path)]) == 0
    assert [line.split(":")[0] for line in capsys.readouterr().out.splitlines()] == [str(tmp_path / "a.png")]
    main(["predict", "--recursive", str(tmp_path)])
    assert len(capsys.readouterr().out.splitlines()) == 2
    main(["predict", str(tmp_path / "**" / "*.png"), "--recursive"])
    assert len(capsys.readouterr().out.splitlines()) == 2
    main(["predict", str(tmp_path / "*.png")])
    assert len(capsys.readouterr().out.splitlines()) == 1
    assert main(["predict", str(tmp_path / "*.gif")]) == 1  # a glob matching nothing is an error
    assert "no such file" in capsys.readouterr().err


def test_stdin(monkeypatch, capsys):
    data = (SAMPLES / "digit-7.png").read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert main(["predict", "--json", "-"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["path"] == "-" and result["text"] == "7"


def test_model_option_errors_cleanly(tmp_path, capsys):
    assert main(["predict", "--model", str(tmp_path / "nope.onnx"), str(SAMPLES / "digit-7.png")]) != 0
    err = capsys.readouterr().err
    assert err.startswith("digits: error:") and len(err.splitlines()) == 1


def test_real_subprocess_run():
    exe = shutil.which("digits")
    cmd = [exe] if exe else [sys.executable, "-m", "handwritten_digits"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([*cmd, "predict", "--json", str(SAMPLES / "photo-number-417.jpg")],
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["text"] == "417"
    assert proc.stderr == ""


def test_workers_give_the_same_output_in_order(tmp_path, monkeypatch, capsys):
    # every kind of entry at once: files, a broken file, an empty folder, stdin; saved inputs too
    for i, name in enumerate(sorted(EXPECTED) * 2):
        shutil.copy(SAMPLES / name, tmp_path / f"{i:02d}-{name}")
    (tmp_path / "05-broken.png").write_bytes(b"not an image")
    (tmp_path / "empty").mkdir()
    stdin = (SAMPLES / "number-2026.png").read_bytes()
    outputs = []
    for workers in ("1", "2"):
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
        seen = tmp_path.parent / f"seen-{workers}"
        code = main(["predict", "--json", "--workers", workers, "--save-inputs", str(seen),
                     str(tmp_path), "-", str(tmp_path / "empty")])
        outputs.append((code, capsys.readouterr(), sorted(p.name for p in seen.iterdir())))
    (code1, one, saved1), (code2, two, saved2) = outputs
    assert code1 == code2 == 1
    assert two.out == one.out and two.err == one.err and saved2 == saved1
    records = [json.loads(line) for line in two.out.splitlines()]
    assert [Path(r["path"]).name for r in records] == sorted(p.name for p in tmp_path.glob("*.*")) + ["-", "empty"]
    assert [r["text"] for r in records[:5]] == [EXPECTED[name] for name in sorted(EXPECTED) + sorted(EXPECTED)[:1]]
    assert "error" in records[5] and records[-2]["text"] == "2026" and "try --recursive" in records[-1]["error"]
    assert len(two.err.splitlines()) == 2
    assert "stdin-3-6.png" in saved2 and len(saved2) == 2 * (1 + 1 + 4 + 3) + 4


def test_workers_report_a_bad_model_once(tmp_path, capsys):
    for name in EXPECTED:
        shutil.copy(SAMPLES / name, tmp_path / name)
    (tmp_path / "bad.onnx").write_bytes(b"not a model")
    assert main(["predict", "--workers", "2", "--model", str(tmp_path / "bad.onnx"), str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("digits: error:") and len(captured.err.splitlines()) == 1
    assert main(["predict", "--workers", "0", str(tmp_path)]) == 2
    assert "--workers" in capsys.readouterr().err


def test_help_explains_workers_and_progress(capsys):
    with pytest.raises(SystemExit):
        main(["predict", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert f"all {len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()} cores" in text
    assert "keeps the input order" in text and "never shown in a pipe" in text
