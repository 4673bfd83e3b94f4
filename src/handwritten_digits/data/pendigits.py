"""Pen-trajectory digits (UCI Pen-Based Recognition, ``pendigits-orig.tra``) drawn like the web page's canvas.

The file holds 7,494 digits written by 30 people on a tablet, stored as UNIPEN text. Rendering their
strokes the way ``static/app.js`` draws and exports the drawing pad gives test images of what the
server receives from the page, written by real hands rather than MNIST scans.

>>> from handwritten_digits.data.pendigits import canvas_drawings
>>> drawings = canvas_drawings(3, seed=0)   # [(png_bytes, "4"), (png_bytes, "01"), (png_bytes, "395")]
"""

from __future__ import annotations

import functools
import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from handwritten_digits.errors import DigitsError

FILE = Path("pendigits") / "pendigits-orig.tra"
CANVAS = (560, 280)   # the page's logical canvas (index.html: <canvas width=560 height=280>)
EXPORT_SCALE = 0.5    # app.js sends the drawing at half its logical size: 280x140
INK = "#111827"       # app.js strokeStyle
MARGIN = 10.0         # logical units of paper kept around the ink
SUPERSAMPLE = 4       # Pillow draws without anti-aliasing; drawing big and shrinking mimics the browser's


@dataclass
class PenDigit:
    """One written digit: its label, its writer (1-30) and its strokes in tablet units (y up)."""

    label: int
    writer: int
    strokes: list[np.ndarray] = field(default_factory=list)  # each (N, 2) float: x, y


def read_pendigits(path: str | os.PathLike) -> list[PenDigit]:
    """Parse a UNIPEN pendigits file.

    Parameters
    ----------
    path : path
        ``pendigits-orig.tra`` (or ``.tes``): ``.SEGMENT DIGIT ... "LABEL"``, ``.COMMENT LABEL WRITER
        INDEX``, then per stroke ``.PEN_DOWN``, ``x y`` lines (0-500, y up) and ``.PEN_UP``.

    Returns
    -------
    list of PenDigit
        In file order.
    """
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as exc:
        raise DigitsError(f"{path}: cannot read ({exc})") from None
    digits: list[PenDigit] = []
    points: list[list[float]] | None = None
    for number, line in enumerate(lines, 1):
        words = line.split()
        if not words:
            continue
        try:
            if words[0] == ".SEGMENT":
                digits.append(PenDigit(int(words[-1].strip('"')), 0))
            elif words[0] == ".COMMENT" and digits:
                digits[-1].writer = int(words[2])
            elif words[0] == ".PEN_DOWN":
                points = []
            elif words[0] == ".PEN_UP" and points is not None:
                if points:
                    digits[-1].strokes.append(np.array(points, dtype=np.float64))
                points = None
            elif points is not None and not words[0].startswith("."):
                points.append([float(words[0]), float(words[1])])
        except (ValueError, IndexError):
            raise DigitsError(f"{path}:{number}: not a pendigits line: {line!r}") from None
    if not digits:
        raise DigitsError(f"{path}: no digits found")
    return digits


def place_strokes(digits: list[PenDigit], rng: np.random.Generator, width: float,
                  gap_range: tuple[float, float] = (12.0, 90.0)) -> list[np.ndarray]:
    """The digits' strokes placed side by side on the page's pad: (N, 2) points in logical units, y down.

    ``rng`` picks each digit's height (45-85% of the pad), the gaps (``gap_range``, clear space between
    neighbours' ink) and the position; ``width`` is the pen's, in logical units.
    """
    boxes = [np.concatenate(d.strokes) for d in digits]
    heights = rng.uniform(0.45, 0.85, size=len(digits)) * CANVAS[1]
    scales = [h / max(np.ptp(b[:, 1]), 1.0) for h, b in zip(heights, boxes)]
    gaps = rng.uniform(*gap_range, size=max(len(digits) - 1, 0))
    inks = [np.ptp(b[:, 0]) * s for b, s in zip(boxes, scales)]
    # a hand fits its digits onto the pad: shrink sizes and gaps together when they would overflow
    room = CANVAS[0] - 2 * MARGIN - len(digits) * width
    fit = min(1.0, room / (sum(inks) + gaps.sum()))
    scales, inks, gaps = [s * fit for s in scales], [w * fit for w in inks], gaps * fit
    total = sum(inks) + gaps.sum() + len(digits) * width
    x = float(rng.uniform(MARGIN, max(MARGIN, CANVAS[0] - MARGIN - total))) + width / 2
    middle = rng.uniform(0.4, 0.6) * CANVAS[1]
    placed = []
    for i, (digit, box, scale) in enumerate(zip(digits, boxes, scales)):
        h = np.ptp(box[:, 1]) * scale
        top = np.clip(middle - h / 2 + rng.normal(0, 0.04) * CANVAS[1], width / 2 + MARGIN,
                      CANVAS[1] - h - width / 2 - MARGIN)
        for stroke in digit.strokes:
            xs = x + (stroke[:, 0] - box[:, 0].min()) * scale
            ys = top + (box[:, 1].max() - stroke[:, 1]) * scale  # tablet y points up, canvas y down
            placed.append(np.stack([xs, ys], axis=1))
        x += inks[i] + width + (gaps[i] if i < len(gaps) else 0)
    return placed


def render_strokes(digits: list[PenDigit], rng: np.random.Generator, pen_width: float | None = None,
                   gap_range: tuple[float, float] = (12.0, 90.0)) -> bytes:
    """Draw digits side by side as the page exports its drawing pad: an RGBA PNG, 280x140.

    Parameters
    ----------
    digits : list of PenDigit
        Drawn left to right.
    rng : numpy.random.Generator
        Picks the pen width, then places the digits (:func:`place_strokes`).
    pen_width : float, optional
        In logical canvas units (the page's slider); default a random 10-22.
    gap_range : (float, float)
        Clear space between neighbouring digits' ink, logical units.

    Returns
    -------
    bytes
        PNG: ``#111827`` ink with round caps and joins on opaque white.
    """
    width = float(rng.uniform(10, 22)) if pen_width is None else float(pen_width)
    factor = EXPORT_SCALE * SUPERSAMPLE  # logical units -> supersampled pixels
    size = (round(CANVAS[0] * factor), round(CANVAS[1] * factor))
    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    line_width = max(1, round(width * factor))
    for stroke in place_strokes(digits, rng, width, gap_range):
        points = [(float(px * factor), float(py * factor)) for px, py in stroke]
        if len(points) > 1:
            draw.line(points, fill=0, width=line_width, joint="curve")
        r = line_width / 2  # round caps, and round joins where "curve" leaves notches
        for px, py in points:
            draw.ellipse((px - r, py - r, px + r, py + r), fill=0)

    # area-average shrink ~ the browser's coverage anti-aliasing; then ink colour over white paper
    coverage = 1.0 - np.asarray(image.reduce(SUPERSAMPLE), dtype=np.float32) / 255.0
    ink = np.array(Image.new("RGB", (1, 1), INK).getpixel((0, 0)), dtype=np.float32)
    rgb = 255.0 + coverage[..., None] * (ink - 255.0)
    rgba = np.dstack([np.round(rgb).astype(np.uint8), np.full(coverage.shape, 255, np.uint8)])
    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, format="PNG")
    return buffer.getvalue()


def locate_pendigits(path: str | os.PathLike | None = None) -> Path:
    """``path``, else ``$DIGITS_EXTERNAL_DIR/pendigits/pendigits-orig.tra``, else beside MNIST's folder."""
    if path is not None:
        return Path(path)
    if os.environ.get("DIGITS_EXTERNAL_DIR"):
        return Path(os.environ["DIGITS_EXTERNAL_DIR"]) / FILE
    from handwritten_digits.data.external import locate_external

    return locate_external() / FILE


@functools.lru_cache(maxsize=2)
def _cached(path: Path) -> list[PenDigit]:
    return read_pendigits(path)


def canvas_drawings(count: int, seed: int = 0, path: str | os.PathLike | None = None) -> list[tuple[bytes, str]]:
    """``count`` page-like drawings of 1, 2, 3, 1, 2, 3, ... digits, each by one writer.

    Parameters
    ----------
    count : int
    seed : int
        The same seed gives the same PNG bytes.
    path : path, optional
        The pendigits file (default: see :func:`locate_pendigits`).

    Returns
    -------
    list of (bytes, str)
        The PNG and the digits it shows, e.g. ``"42"``.
    """
    digits = _cached(locate_pendigits(path).resolve())
    by_writer: dict[int, list[int]] = {}
    for i, d in enumerate(digits):
        by_writer.setdefault(d.writer, []).append(i)
    writers = sorted(by_writer)
    rng = np.random.default_rng(seed)
    out = []
    for n in range(count):
        # one person draws a whole number, as on the page
        pool = by_writer[writers[int(rng.integers(len(writers)))]]
        picks = [digits[i] for i in rng.choice(pool, size=n % 3 + 1, replace=False)]
        out.append((render_strokes(picks, rng), "".join(str(d.label) for d in picks)))
    return out


def digit_inputs(digits: list[PenDigit], seed: int = 0, copies: int = 1,
                 progress: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each digit drawn alone on the page's pad, then read back as the reader does: model inputs.

    Every drawing goes through :func:`render_strokes` (a random pen width of 10-22 and height of
    45-85% of the pad) and ``reading.normalize.prepare_single``, so the inputs carry what the page
    and the reader do to a drawing (anti-aliasing, specks dropped, stroke-width adjustment).

    Parameters
    ----------
    digits : list of PenDigit
    seed : int
        Drawing ``c`` of ``digits[i]`` uses ``default_rng([seed, i, c])``: the same seed and digits give
        the same inputs, and drawing more digits (or copies) doesn't change the first ones' drawings.
    copies : int
        Drawings per digit, each at its own pen width, size and position.
    progress : bool
        A tqdm bar on stderr (about 6 ms a drawing on one core: ~45 s for the whole file).

    Returns
    -------
    images : ndarray (N, 28, 28) float32 in [0, 1], ink bright
        Digit-major: the ``copies`` drawings of ``digits[0]`` first.
    labels : ndarray (N,) int64
    index : ndarray (N,) int64
        Each input's digit in ``digits`` (a drawing with no ink left after reading is dropped).
    """
    import sys

    from tqdm import tqdm

    from handwritten_digits.reading.normalize import prepare_single

    if copies < 1:
        raise DigitsError(f"copies must be at least 1, not {copies}")
    images, labels, index = [], [], []
    bar = tqdm(total=len(digits) * copies, desc="pendigits", unit="drawing", leave=False, mininterval=1.0,
               file=sys.stderr, disable=not progress)
    with bar:
        for i, digit in enumerate(digits):
            for c in range(copies):
                found = prepare_single(render_strokes([digit], np.random.default_rng([seed, i, c])))
                bar.update()
                if found is not None:
                    images.append(found.image)
                    labels.append(digit.label)
                    index.append(i)
    if not images:
        return np.zeros((0, 28, 28), np.float32), np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.stack(images).astype(np.float32), np.array(labels, np.int64), np.array(index, np.int64)
