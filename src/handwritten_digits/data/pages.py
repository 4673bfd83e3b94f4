"""Synthetic pages of handwritten numbers: lines of MNIST digits on paper, with the truth, line by line.

For developing and testing the layout stage (:mod:`handwritten_digits.reading.layout`). A page holds
1-8 lines of 1-4 numbers (1-10 digits each), or a grid of cells (one number per cell, rows read as
lines), on plain, ruled, squared or coloured (yellow note) paper, photographed: each line slanted or
gently curved, digits of uneven size and spacing, then optional shadows, show-through (faint mirrored
digits of the back side), mild perspective, blur, noise and JPEG. Deterministic by ``rng``.

Callers pass the digits: validation digits for development and tests, test digits only for a final
benchmark.

>>> from handwritten_digits.data import load_dataset
>>> image, truth = make_page(np.random.default_rng(0), load_dataset("val"))
>>> truth.lines          # [['2026', '7'], ['31415']]
>>> truth.label          # '2026 7 | 31415' (the realdev label format)
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image

from handwritten_digits.data import sheet
from handwritten_digits.synthetic import ink_patch

PAPERS = ("plain", "ruled", "squared", "note")
SHADOWS = ("below", "corner")
MAX_SIDE = 2000  # digits are made smaller when a page would be longer than this (px)
GRIDS = 0.1  # share of grid pages by default


@dataclass
class PageTruth:
    """What a page shows: ``lines`` top to bottom, each its numbers left to right; ``boxes`` the same
    shape, each number's (x0, y0, x1, y1) in image pixels (exclusive); ``height`` the digits' median
    height (px); ``sources`` each digit's index in the digits the page was built from, in reading order."""

    lines: list[list[str]]
    boxes: list[list[tuple[int, int, int, int]]]
    paper: str
    grid: bool
    height: float
    sources: list[int] = field(default_factory=list)

    @property
    def kind(self) -> str:
        """'grid', or the paper of a page of free lines: how the benchmarks group pages."""
        return "grid" if self.grid else self.paper

    @property
    def line_sources(self) -> list[list[int]]:
        """``sources`` line by line: the indices of each line's digits, in reading order."""
        counts = np.cumsum([0] + [sum(len(number) for number in line) for line in self.lines])
        return [self.sources[a:b] for a, b in zip(counts[:-1], counts[1:])]

    @property
    def label(self) -> str:
        """The realdev label format: numbers separated by spaces, lines by `` | ``."""
        return " | ".join(" ".join(line) for line in self.lines)


def iter_pages(count: int, seed: int, digits, **options):
    """``count`` pages from ``digits`` = (images (N, 28, 28), labels), one at a time (a page can be
    several MB), deterministic by ``seed``: every benchmark that asks for the same ``count`` and
    ``seed`` gets the same pages. ``options`` as for :func:`make_page`."""
    rng = np.random.default_rng(seed)
    for _ in range(count):
        yield make_page(rng, digits, **options)


def make_pages(count: int, seed: int, digits, **options) -> list[tuple[np.ndarray, PageTruth]]:
    """:func:`iter_pages` as a list."""
    return list(iter_pages(count, seed, digits, **options))


def make_page(rng: np.random.Generator, digits, *, lines: int | None = None, numbers=None, lengths=None,
              grid: tuple[int, int] | None = None, paper: str | None = None, height: float | None = None,
              slant: float = 10.0, gap: float | None = None, shadow=None, show_through: bool | None = None,
              perspective: bool | None = None, color: bool | None = None, degrade: bool = True,
              turn: float = 0.0):
    """One page and its truth.

    Parameters
    ----------
    rng : numpy Generator
    digits : (images (N, 28, 28) in [0, 1], labels (N,))
    lines : int, optional
        Number of lines (default 1-8).
    numbers : int or list of int, optional
        Numbers on each line (default 1-4 per line); a list gives each line's count.
    lengths : list of list of int, optional
        Digits in each number, line by line (overrides ``lines`` and ``numbers``; default 1-10, short
        ones more often).
    grid : (rows, columns) or False, optional
        A grid of single digits in aligned cells instead of free lines (each cell one number). By default
        a tenth of the pages (those given no ``lines``, ``numbers`` or ``lengths``) are 2-8 x 3-8 grids.
    paper : {'plain', 'ruled', 'squared', 'note'}, optional
    height : float, optional
        Digit height in pixels (default 28-72; smaller when the page would exceed ``MAX_SIDE``).
    slant : float
        Each line is rotated by up to this many degrees (half the pages: one angle for all lines).
    gap : float, optional
        Gap between numbers on a line, in digit heights (default: clearly wider than the digit spacing).
    shadow : {'below', 'corner'} or bool, optional
        A soft shadow under one line, or across a corner of the page.
    show_through, perspective, color : bool, optional
        Faint mirrored digits from the back of the sheet; a mild perspective warp; an RGB image
        (else gray). Random when ``None``.
    degrade : bool
        Blur, noise and JPEG at random (``False``: a clean image).
    turn : float
        The sheet photographed turned this many degrees counter-clockwise, printed lines and all (``slant``
        turns the writing only).

    Returns
    -------
    image : ndarray uint8 (H, W, 3) or (H, W)
    truth : PageTruth
    """
    images, labels = digits
    picked: list[int] = []  # the source of each digit drawn: the page's, in reading order, then the back's

    def pick() -> int:
        picked.append(int(rng.integers(len(images))))
        return picked[-1]

    paper = paper or str(rng.choice(PAPERS, p=[0.4, 0.25, 0.15, 0.2]))
    if grid is None and lengths is None and lines is None and numbers is None and rng.random() < GRIDS:
        grid = (int(rng.integers(2, 9)), int(rng.integers(3, 9)))
    grid = grid or None
    if lengths is None and grid is None:
        n_lines = lines or int(rng.integers(1, 9))
        counts = numbers if isinstance(numbers, (list, tuple)) else [numbers or int(rng.integers(1, 5)) for _ in range(n_lines)]
        lengths = [[int(rng.choice(np.arange(1, 11), p=_LENGTH_P)) for _ in range(c)] for c in counts]
    if grid is not None:
        lengths = [[1] * grid[1] for _ in range(grid[0])]
    units = max(sum(n * 0.8 + 3.0 for n in line) for line in lengths) + 4  # a line's width in digit heights, roughly
    h = height or float(rng.uniform(28, 72))
    h = max(14.0, min(h, MAX_SIDE / units, MAX_SIDE / (2.6 * len(lengths) + 4)))

    ids, texts = _Ids(), []
    if grid is not None:
        ink, idmap, texts = _grid(rng, images, labels, pick, grid, h, ids)
    else:
        # the sheet turned as a whole, each line slanted a little more or less: lines never cross
        turned = float(rng.uniform(-slant, slant)) if rng.random() < 0.6 else 0.0
        strips = []
        for line in lengths:
            angle = turned + float(rng.uniform(-1, 1)) * min(3.0, slant)
            strips.append(_strip(rng, images, labels, pick, line, h, gap, angle, ids))
            texts.append(strips[-1][3])
        ink, idmap = _stack(rng, strips, h, -np.tan(np.radians(turned)))
    margin = int(round(h * rng.uniform(0.6, 2.0)))
    ink = cv2.copyMakeBorder(ink, margin, margin, margin, margin, cv2.BORDER_CONSTANT, value=0)
    idmap = cv2.copyMakeBorder(idmap, margin, margin, margin, margin, cv2.BORDER_CONSTANT, value=0)
    rgb = sheet.paper(rng, paper, ink.shape, h)
    if show_through or (show_through is None and rng.random() < 0.2):
        back = sheet.show_through(rng, images, pick, ink.shape, h)
        rgb *= 1.0 - back[..., None] * rng.uniform(0.08, 0.2)
    pen = np.array([rng.uniform(0, 0.25), rng.uniform(0, 0.25), rng.uniform(0.05, 0.45)], np.float32)
    if rng.random() < 0.5:
        pen[:] = rng.uniform(0.0, 0.2)  # black or gray pen
    a = ink[..., None]
    rgb = rgb * (1 - a) + pen * a
    if shadow is True or (shadow is None and rng.random() < 0.25):
        shadow = str(rng.choice(SHADOWS))
    if shadow:
        rgb *= 1.0 - sheet.shadow(rng, shadow, idmap, h)[..., None]
    if paper == "note" and rng.random() < 0.5:  # a note on a desk: the desk shows on one or two sides
        rgb, idmap = sheet.desk(rng, rgb, idmap, h)
    yy, xx = np.mgrid[0 : rgb.shape[0], 0 : rgb.shape[1]].astype(np.float32)
    light = rng.uniform(0, 2 * np.pi)  # where the light comes from
    ramp = np.cos(light) * xx / rgb.shape[1] + np.sin(light) * yy / rgb.shape[0]
    rgb *= (1.0 + rng.uniform(0.0, 0.3) * (ramp - ramp.mean()))[..., None]  # uneven light
    if turn:
        rgb, idmap = sheet.turn(rgb, idmap, turn)
    if perspective or (perspective is None and rng.random() < 0.3):
        rgb, idmap = sheet.perspective(rng, rgb, idmap)
    if degrade:
        sigma = float(rng.choice([0.0, 0.0, 0.5, 0.9])) * max(1.0, h / 40)
        if sigma:
            rgb = cv2.GaussianBlur(rgb, (0, 0), sigma)
        rgb = rgb + rng.normal(0, rng.uniform(0.0, 0.03), size=rgb.shape).astype(np.float32)
    out = np.clip(rgb * 255 + 0.5, 0, 255).astype(np.uint8)
    if not (color or (color is None and (paper == "note" or rng.random() < 0.5))):
        out = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY)
    if degrade and rng.random() < 0.5:
        buffer = io.BytesIO()
        Image.fromarray(out).save(buffer, format="JPEG", quality=int(rng.integers(40, 95)))
        out = np.asarray(Image.open(io.BytesIO(buffer.getvalue())))
    boxes = _boxes(idmap, ids.count)
    box_lines = [[boxes[k] for k in line_ids] for line_ids in ids.lines]
    digits_drawn = sum(len(number) for line in texts for number in line)  # drawn first, in reading order
    return out, PageTruth(texts, box_lines, paper, grid is not None, h, picked[:digits_drawn])


_LENGTH_P = np.array([6, 6, 5, 5, 4, 3, 2, 2, 1, 1], float) / 35  # 1-10 digits, short numbers more often


class _Ids:
    """Numbers' ids (1..n, for the id map that gives the truth boxes), grouped by line."""

    def __init__(self):
        self.count, self.lines = 0, []

    def new_line(self) -> None:
        self.lines.append([])

    def new(self) -> int:
        self.count += 1
        self.lines[-1].append(self.count - 1)
        return self.count


def _paste(ink: np.ndarray, idmap: np.ndarray, patch: np.ndarray, x: int, y: int, k: int) -> None:
    region = ink[y : y + patch.shape[0], x : x + patch.shape[1]]
    p = patch[: region.shape[0], : region.shape[1]]
    np.maximum(region, p, out=region)
    idmap[y : y + p.shape[0], x : x + p.shape[1]][p > 0.3] = k


def _strip(rng, images, labels, pick, line, h, gap, angle, ids):
    """One line of numbers, drawn straight (gently curved), then rotated by ``angle`` degrees.

    Returns the ink, the id map, the centreline (x, y points) in strip pixels and the numbers' text.
    """
    ids.new_line()
    wide = rng.random() < 0.1  # a line whose digits are widely (but evenly) spaced
    amp = h * rng.uniform(0, 0.12) if rng.random() < 0.3 else 0.0
    period, phase = h * rng.uniform(8, 20), rng.uniform(0, 2 * np.pi)
    curve = lambda u: amp * np.sin(2 * np.pi * u / period + phase)  # noqa: E731
    pad = int(h * 0.3) + 2
    items, x, texts = [], float(pad), []
    for k, n in enumerate(line):
        spacing = h * (rng.uniform(0.5, 0.9) if wide else rng.uniform(0.03, 0.35))
        if k:  # two numbers of one digit each: only a wide gap tells them from one widely spaced number
            low = gap if gap is not None else max(1.6, 2.5 * spacing / h + 0.6, 2.8 if n == line[k - 1] == 1 else 0)
            x += h * (low if gap is not None else rng.uniform(low, low + 1.5))
        num, text = ids.new(), ""
        for d in range(n):
            i = pick()
            text += str(int(labels[i]))
            p = ink_patch(images[i], max(8, int(round(h * rng.uniform(0.85, 1.15)))), rng)
            items.append((p, int(round(x)), num))
            x += p.shape[1] + (spacing * rng.uniform(0.6, 1.4) if d < n - 1 else 0)
        texts.append(text)
    base = pad + 1.15 * h + amp
    ink = np.zeros((int(base + amp + 0.1 * h + pad), int(x) + pad), np.float32)
    idmap = np.zeros(ink.shape, np.int16)
    for p, px, num in items:
        top = base + curve(px + p.shape[1] / 2) + rng.uniform(-0.06, 0.06) * h - p.shape[0]
        _paste(ink, idmap, p, px, max(0, int(round(top))), num)
    u = np.linspace(0, ink.shape[1], 24)
    centre = np.stack([u, base - 0.55 * h + curve(u)], 1)
    m, size = sheet.turning(ink.shape, angle, margin=2)
    ink = cv2.warpAffine(ink, m, size, flags=cv2.INTER_LINEAR)
    idmap = cv2.warpAffine(idmap, m, size, flags=cv2.INTER_NEAREST)
    centre = centre @ m[:, :2].T + m[:, 2]
    return ink, idmap, centre, texts


def _stack(rng, strips, h, slope):
    """Lines placed top to bottom: each one's centreline a pitch below every earlier line's, both
    extended across the page along the sheet's ``slope`` (so the reading order is the order made),
    its ink clear of all ink above."""
    width = max(s[0].shape[1] for s in strips)
    placed, bottom = [], np.full(width + 1, -1e9)
    for ink, _, centre, _ in strips:
        x = int(rng.uniform(0, 0.6 * h)) if rng.random() < 0.8 else int(rng.uniform(0, width - ink.shape[1] + 1))
        x = min(x, width - ink.shape[1])
        cols = ink > 0.1
        top = np.where(cols.any(0), cols.argmax(0), 10**6)
        dy = float(np.max(bottom[x : x + ink.shape[1]] - top)) + h * rng.uniform(0.15, 0.6)
        c = centre + (x, 0)
        fit = _straight(c, slope)
        pitch = h * rng.uniform(1.5, 1.9)
        for _, pc, pfit in placed:  # each centreline a pitch below the other's, both extended straight
            dy = max(dy, float(np.max(pfit[0] * c[:, 0] + pfit[1] - c[:, 1])) + pfit[2] + pitch,
                     float(np.max(pc[:, 1] - fit[0] * pc[:, 0] - fit[1])) + fit[2] + pitch)
        dy = int(np.ceil(max(dy, 0.0)))
        placed.append(((x, dy), c + (0, dy), (fit[0], fit[1] + dy, fit[2])))
        rows = np.where(cols.any(0), ink.shape[0] - 1 - cols[::-1].argmax(0), -1e9)
        np.maximum(bottom[x : x + ink.shape[1]], rows + dy, out=bottom[x : x + ink.shape[1]])
    total = max(dy + s[0].shape[0] for ((_, dy), _, _), s in zip(placed, strips))
    ink, idmap = np.zeros((total, width), np.float32), np.zeros((total, width), np.int16)
    for ((x, dy), _, _), (s_ink, s_ids, _, _) in zip(placed, strips):
        _paste(ink, idmap, s_ink, x, dy, 0)
        region = idmap[dy : dy + s_ids.shape[0], x : x + s_ids.shape[1]]
        np.copyto(region, s_ids, where=s_ids > 0)
    return ink, idmap


def _straight(points: np.ndarray, slope: float) -> tuple[float, float, float]:
    """A centreline along ``slope``: the slope, intercept and its largest departure (its own slant, a curve)."""
    at = float(np.median(points[:, 1] - slope * points[:, 0]))
    return float(slope), at, float(np.abs(points[:, 1] - slope * points[:, 0] - at).max())


def _grid(rng, images, labels, pick, grid, h, ids):
    """Single digits in aligned cells (a table or a sheet of samples): each row a line, each cell a number."""
    rows, cols = grid
    cw, ch = h * rng.uniform(1.7, 2.6), h * rng.uniform(1.4, 2.0)  # cells clearly apart: a table, not a number
    ink = np.zeros((int(rows * ch + h), int(cols * cw + h)), np.float32)
    idmap = np.zeros(ink.shape, np.int16)
    texts = []
    for r in range(rows):
        ids.new_line()
        texts.append([])
        for c in range(cols):
            i = pick()
            p = ink_patch(images[i], max(8, int(round(h * rng.uniform(0.85, 1.1)))), rng)
            x = int(c * cw + (cw - p.shape[1]) / 2 + rng.uniform(-0.1, 0.1) * h)
            y = int(r * ch + (ch - p.shape[0]) / 2 + rng.uniform(-0.1, 0.1) * h)
            _paste(ink, idmap, p, max(0, x), max(0, y), ids.new())
            texts[-1].append(str(int(labels[i])))
    return ink, idmap, texts


def _boxes(idmap: np.ndarray, count: int) -> list[tuple[int, int, int, int]]:
    """Each number's ink box (x0, y0, x1, y1 exclusive) from the id map, in one pass."""
    ys, xs = np.nonzero(idmap)
    k = idmap[ys, xs].astype(np.int64)
    x0 = np.full(count + 1, 10**9)
    y0 = np.full(count + 1, 10**9)
    x1 = np.full(count + 1, -1)
    y1 = np.full(count + 1, -1)
    np.minimum.at(x0, k, xs)
    np.minimum.at(y0, k, ys)
    np.maximum.at(x1, k, xs + 1)
    np.maximum.at(y1, k, ys + 1)
    return [(int(x0[i]), int(y0[i]), int(x1[i]), int(y1[i])) for i in range(1, count + 1)]
