"""Pendigits: the UNIPEN file parses to the published counts; drawings look like the page's exports."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from handwritten_digits.data.pendigits import PenDigit, canvas_drawings, read_pendigits, render_strokes

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def pendigits_file() -> Path:
    env = os.environ.get("DIGITS_EXTERNAL_DIR")
    path = (Path(env) if env else ROOT.parent / "shared" / "data" / "external") / "pendigits" / "pendigits-orig.tra"
    if not path.exists():
        pytest.skip(f"pendigits not found at {path}: set DIGITS_EXTERNAL_DIR")
    return path


def test_parses_every_digit(pendigits_file):
    digits = read_pendigits(pendigits_file)
    assert len(digits) == 7494
    assert len({d.writer for d in digits}) == 30
    assert {d.label for d in digits} == set(range(10))
    assert all(d.strokes and all(s.ndim == 2 and s.shape[1] == 2 for s in d.strokes) for d in digits)


def _ink_runs(png: bytes) -> tuple[np.ndarray, int]:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.mode == "RGBA" and image.size == (280, 140)
    rgba = np.asarray(image)
    columns = (rgba[..., :3].min(axis=2) < 128).any(axis=0).astype(np.int8)
    return rgba, int((np.diff(np.concatenate([[0], columns])) == 1).sum())


def _circle(label: int, writer: int = 1) -> PenDigit:
    t = np.linspace(0, 2 * np.pi, 40)
    return PenDigit(label, writer, [np.stack([250 + 80 * np.cos(t), 250 + 150 * np.sin(t)], axis=1)])


def test_two_digits_with_a_wide_gap_are_two_ink_runs():
    png = render_strokes([_circle(0), _circle(0)], np.random.default_rng(1), gap_range=(120, 120))
    rgba, runs = _ink_runs(png)
    assert runs == 2
    assert (rgba[..., 3] == 255).all()                    # opaque paper
    assert (rgba[0, 0, :3] == 255).all()                  # white
    assert tuple(rgba[..., :3].reshape(-1, 3).min(axis=0)) == (0x11, 0x18, 0x27)  # the page's ink colour
    assert render_strokes([_circle(0)], np.random.default_rng(1)) == render_strokes([_circle(0)], np.random.default_rng(1))


def test_canvas_drawings(pendigits_file):
    drawings = canvas_drawings(6, seed=0, path=pendigits_file)
    assert [len(label) for _, label in drawings] == [1, 2, 3, 1, 2, 3]
    assert all(label.isdigit() for _, label in drawings)
    assert _ink_runs(drawings[0][0])[1] >= 1
    assert drawings == canvas_drawings(6, seed=0, path=pendigits_file)
