"""Part of the layout stage: printed lines (ruled or squared paper, table borders), found along the paper.

:func:`rules` finds thin ink along long horizontal or vertical bands; on a sheet photographed turned,
:func:`rules_along` first measures the printed lines' slope (:func:`paper_slope`) and looks for them
on the mask turned level. A line alone (a margin line) measures no slope: :func:`lone_lines` finds it
as one long thin straight piece.
"""

from __future__ import annotations

import cv2
import numpy as np

from handwritten_digits.reading.ink import distance, turning

LEVEL = 3.0  # printed lines turned this many degrees or more are looked for on the mask turned level
STEEPEST = 20.0  # the slopes tried: up to this many degrees either way ...
COARSE, FINE = 1.0, 0.25  # ... every COARSE degrees, then every FINE degrees around the best
SAMPLE = 8_000  # pixels of long pieces that measure the slope, at most
LINES = 3  # the slope is the paper's only where this many lines (rows or columns) run a long piece's length


def paper_slope(mask: np.ndarray, labels: np.ndarray, stats: np.ndarray, long: int) -> float:
    """The printed lines' angle in degrees (counter-clockwise, as ``cv2.getRotationMatrix2D`` turns), from
    the pixels of pieces at least ``long`` px across: the angle at which they stack into the sharpest
    rows and, at right angles, columns; ``0.0`` unless ``LINES`` rows or columns at that angle run
    ``long`` px (no piece is that long, or it is one digit's strokes)."""
    keep = np.zeros(len(stats), bool)
    keep[1:] = np.maximum(stats[1:, 2], stats[1:, 3]) >= long
    if not keep.any():
        return 0.0
    ys, xs = np.nonzero(keep[labels] & mask)
    step = max(1, len(ys) // SAMPLE)
    ys, xs = ys[::step].astype(np.float64), xs[::step].astype(np.float64)
    angle, counts = 0.0, []
    for steps in (np.arange(-STEEPEST, STEEPEST + COARSE / 2, COARSE), np.arange(-COARSE, COARSE + FINE / 2, FINE)):
        # every COARSE degrees, then every FINE degrees around the best; rows as wide as a long line
        # drifts over one step (a line off by less still fills one row)
        width = max(1.0, long * np.radians(steps[1] - steps[0]))
        angle, counts = sharpest(ys, xs, angle + steps, width)
    # printed lines are many: a digit's straight strokes, however long, are one or two
    lines = sum(_runs(c * step >= long) for c in counts)
    return angle if lines >= LINES else 0.0


def sharpest(ys: np.ndarray, xs: np.ndarray, angles: np.ndarray, width: float) -> tuple[float, list[np.ndarray]]:
    """Of ``angles`` (degrees), the first at which the pixels stack into the sharpest rows and columns
    ``width`` px wide (the largest sum of squared counts), and those rows' and columns' counts; every
    angle at once (a canvas drawing tries 50 on every reading)."""
    t = np.radians(angles)[:, None]
    # each pixel's row and column once cv2 turns the mask by t (y' and x'), one angle a row
    rows, cols = (_histograms(a / width) for a in (ys * np.cos(t) - xs * np.sin(t), xs * np.cos(t) + ys * np.sin(t)))
    sharp = np.array([np.sum(r ** 2) + np.sum(c ** 2) for r, c in zip(rows, cols)])
    best = int(np.argmax(sharp))
    return float(angles[best]), [rows[best], cols[best]]


def _histograms(coordinates: np.ndarray) -> list[np.ndarray]:
    """Pixels per whole-pixel step of each row of ``coordinates``, counted in one pass."""
    bins = np.round(coordinates - coordinates.min(axis=1, keepdims=True)).astype(np.int64)
    sizes = bins.max(axis=1) + 1
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    counts = np.bincount((bins + starts[:, None]).ravel(), minlength=int(sizes.sum())).astype(np.float64)
    return np.split(counts, starts[1:])


def _runs(on: np.ndarray) -> int:
    """How many runs of True ``on`` holds (a line 2 px thick fills two rows)."""
    return int(np.count_nonzero(np.diff(np.concatenate([[0], on.view(np.int8), [0]])) == 1))


def rules_along(mask: np.ndarray, degrees: float, run: int, k: int, bridge: int) -> np.ndarray:
    """:func:`rules` on a sheet whose printed lines lie ``degrees`` off level (:func:`paper_slope`): found on
    the mask turned level (under ``LEVEL`` degrees, ``rules``' bands hold them as they are)."""
    if abs(degrees) < LEVEL:
        return rules(mask, run, k, bridge)
    h, w = mask.shape
    turn, size = turning(mask.shape, degrees)
    level = cv2.warpAffine(mask.view(np.uint8), turn, size, flags=cv2.INTER_NEAREST).view(bool)
    found = rules(level, run, k, bridge).view(np.uint8)
    back = cv2.warpAffine(found, turn, (w, h), flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP)
    # nearest-pixel turns leave holes along a line: a pixel's neighbours close them
    return cv2.dilate(back, np.ones((3, 3), np.uint8)).view(bool) & mask


def rules(mask: np.ndarray, run: int, k: int, bridge: int) -> np.ndarray:
    """Pixels of printed lines: thin ink along a straight, horizontal or vertical band ``run`` long.

    The ink is first thickened ``k`` pixels across and joined over breaks of ``bridge`` pixels along,
    so a slanted or broken line still makes a long band; in the band, ink off the rows the line fills
    (:func:`_on_line`) or not thin across (a stroke crossing the line, a digit resting on it) is kept,
    and pieces left wholly next to the line (where lines cross, a thicker end) go with it.
    """
    m8, out, thick = mask.view(np.uint8), np.zeros(mask.shape, bool), 3
    for along, across in (((1, run), (k, 1)), ((run, 1), (1, k))):
        wide = cv2.dilate(m8, np.ones(across, np.uint8))
        wide = cv2.morphologyEx(wide, cv2.MORPH_CLOSE, np.ones((along[0], bridge) if along[0] == 1 else (bridge, 1), np.uint8))
        on = cv2.morphologyEx(wide, cv2.MORPH_OPEN, np.ones(along, np.uint8)).view(bool) & mask
        on = _on_line(on, max(4, run // 6), flat=along[0] == 1) if on.any() else on
        if not on.any():
            continue
        dist = distance(on)  # the lines' thickness from their ridges (long lines have most ridge pixels)
        ridge = on & (dist >= cv2.dilate(dist, np.ones((3, 3), np.uint8)))
        # no thicker than the band: where a faint grid is little inked, bold digits in it are most of the ink
        thin = min(k, max(3, int(2 * float(np.median(dist[ridge]))) + 3))
        thick = max(thick, thin)
        tall = cv2.morphologyEx(m8, cv2.MORPH_OPEN, np.ones((thin, 1) if along[0] == 1 else (1, thin), np.uint8))
        out |= on & ~tall.view(bool)
    return with_stubs(mask, out, thick)


def _on_line(band: np.ndarray, step: int, flat: bool) -> np.ndarray:
    """The pixels of ``band`` in the rows (columns, if not ``flat``) its lines run along: in each stretch
    ``step`` long, the rows inked at least half as much as its fullest, and the rows beside them. A
    stroke that follows a line a little off it (a 9's loop in a grid), thickened into the band, stays the pen's."""
    b = band if flat else band.T
    h, w = b.shape
    pad = -w % step
    counts = np.pad(b, ((0, 0), (0, pad))).reshape(h, -1, step).sum(axis=2, dtype=np.int32)
    rows = ((counts > 0) & (counts * 2 >= counts.max(axis=0))).astype(np.uint8)
    rows = cv2.dilate(rows, np.ones((3, 1), np.uint8))
    line = np.repeat(rows.view(bool), step, axis=1)[:, :w] & b
    return line if flat else line.T


def with_stubs(mask: np.ndarray, lines: np.ndarray, thick: int) -> np.ndarray:
    """``lines`` and the pieces of the rest of ``mask`` wholly within ``thick`` pixels of them (a
    line's bumps, a thicker end, where lines cross)."""
    if not lines.any():
        return lines
    rest = mask & ~lines
    count, labels = cv2.connectedComponents(rest.view(np.uint8), connectivity=8, ltype=cv2.CV_32S)
    near = cv2.dilate(lines.view(np.uint8), np.ones((thick, thick), np.uint8)).view(bool)
    stub = np.bincount(labels[rest & ~near], minlength=count) == 0
    stub[0] = False
    return lines | stub[labels]


def lone_lines(labels: np.ndarray, stats: np.ndarray, long: float, thin: float) -> np.ndarray:
    """For each component, whether it is one straight line at any slope: a turned box at least ``long`` px
    long and at most ``thin`` px thick. A margin line alone on a sheet photographed turned measures no
    slope of the paper (that takes ``LINES`` lines), so it is looked for piece by piece."""
    out = np.zeros(len(stats), bool)
    span = np.hypot(stats[:, 2], stats[:, 3])
    # a straight line holds at most its length times its thickness of ink: rings and scribbles are not looked at
    for k in np.flatnonzero((span >= long) & (stats[:, 4] <= span * thin)):
        if k == 0:
            continue
        x, y, w, h = stats[k, :4]
        ys, xs = np.nonzero(labels[y : y + h, x : x + w] == k)
        _, sides, _ = cv2.minAreaRect(np.column_stack([xs, ys]).astype(np.float32))
        out[k] = max(sides) >= long and min(sides) <= thin
    return out
