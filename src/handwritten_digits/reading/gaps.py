"""Part of the layout stage: which gaps between a line's pieces separate two numbers.

* a gap clearly wider than the line's digit spacing (``JUMP`` times the next smaller one, or ``SPREAD``
  times the median: widely spaced digits vary more), or wider than ``APART`` digit heights;
* gaps that line up with gaps in the line above or below: the columns of a table (:func:`_gutters`),
  which run through all its lines (:func:`_columns`);
* gaps crossed by the printed walls of cells wider than a digit: a sudoku, a ruled table
  (:func:`_cell_walls`).

A line comes as ``(pieces left to right, the x-interval of each gap between them, digit height)``; on a
turned page the intervals are along its lines (:func:`extents_along`).
"""

from __future__ import annotations

import numpy as np

from handwritten_digits.reading.ink import InkMap

SOFT = 0.15  # gaps (in line heights) are compared as gap + SOFT: tiny gaps vary a lot
JUMP = 2.0  # a gap this many times the next smaller one ...
WIDE = 0.8  # ... and at least this many heights wide separates two numbers
APART = 2.5  # so does any gap this many heights wide
SPREAD = 2.0  # ... and so does a gap this many times the line's median gap, and at least WIDE
GUTTER = 0.5  # a strip this wide (in heights), empty in two lines in a row, is a column of a table ...
NARROW = 0.5  # ... between gaps no narrower than this share of their line's median wide gap (not within a number)
COLUMN_VOTES = 2  # a gap of a table line under a column this many other lines of the table cut is cut too
CELL = 1.25  # printed walls this many digit heights apart or more, across a line and on past it, ...
CELL_INK = 0.9  # ... where they cover this share of the rows, ...
CELL_CROSSED = 0.2  # ... and through at most this share of its pieces, part cells


def number_breaks(rows: list, boxes: np.ndarray, printed: np.ndarray | None, stroke: float) -> list[np.ndarray]:
    """For each line of ``rows``, which of its gaps separate two numbers. ``boxes``: every unit's box;
    ``printed``: the paper cleaning removed, and pieces far taller than digits (``None``: none)."""
    cuts = _gutters(rows)
    if printed is not None:
        cuts = [cut | _cell_walls(row, boxes, printed, stroke) for row, cut in zip(rows, cuts)]
    return [_splits(row[1], row[2]) | cut for row, cut in zip(rows, cuts)]


def _splits(gaps: np.ndarray, height: float) -> np.ndarray:
    """Which gaps separate two numbers: clearly wider than the line's digit spacing, or very wide."""
    g = (gaps[:, 1] - gaps[:, 0]) / height
    split = g >= APART
    real = np.sort(g[(g > 0) & ~split])  # the spacing is told among the gaps not already splits
    if len(real) >= 2:
        ratio = (real[1:] + SOFT) / (real[:-1] + SOFT)
        ratio[real[1:] < WIDE] = 0
        k = int(ratio.argmax())
        if ratio[k] >= JUMP:
            split |= g >= real[k + 1]
    if len(real) >= 3:
        split |= (g >= WIDE) & (g + SOFT >= SPREAD * (float(np.median(real)) + SOFT))
    return split


def _gutters(rows: list) -> list[np.ndarray]:
    """Which gaps are columns of a table: two lines in a row whose wide gaps mostly pair up, one to one,
    sharing a strip (at least 3 such, 2 in three lines in a row, or 2 that are all the gaps of both
    lines; text lines meet a chance one or two). A line next to a table row, whose gaps line up with its
    columns, is one too (a short last row)."""
    n = len(rows)
    apart = [_wide(r[1], r[2]) for r in rows]
    wide = [int(a.sum()) for a in apart]
    shared = []  # shared[k]: (gaps of line k, gaps of line k + 1) that pair up
    for k in range(n - 1):
        (_, upper, h1), (_, lower, h2) = rows[k], rows[k + 1]
        inter = np.minimum(upper[:, None, 1], lower[None, :, 1]) - np.maximum(upper[:, None, 0], lower[None, :, 0])
        inter = np.where(apart[k][:, None] & apart[k + 1][None, :], inter, 0)
        if inter.size:  # one to one: a wide gap above, spanning several narrow ones below, is one column at most
            inter = np.where((inter >= inter.max(1, keepdims=True)) & (inter >= inter.max(0, keepdims=True)), inter, 0)
        shared.append(inter >= GUTTER * min(h1, h2))
    count = [int(m.sum()) for m in shared]
    agree = [c >= 0.6 * max(wide[k], wide[k + 1]) for k, c in enumerate(count)]
    # every gap of both lines paired (2 or more): each digit stands apart, in the same columns (a short table)
    whole = [c >= 2 and c == len(rows[k][1]) == len(rows[k + 1][1]) for k, c in enumerate(count)]
    strong = [a and (c >= 3 or w) for a, c, w in zip(agree, count, whole)]
    weak = [a and c >= 2 for a, c in zip(agree, count)]
    table = [(k > 0 and strong[k - 1]) or (k < n - 1 and strong[k]) or (0 < k < n - 1 and weak[k - 1] and weak[k])
             for k in range(n)]
    cut = [np.zeros(len(r[1]), bool) for r in rows]
    for k in range(n - 1):
        for j, other, side in ((k, k + 1, 1), (k + 1, k, 0)):
            mine = shared[k].any(side)
            if table[other] and (table[j] or mine.sum() >= 0.6 * wide[j]):
                cut[j] |= mine
    return _columns(rows, table, cut)


def _columns(rows: list, table: list[bool], cut: list[np.ndarray]) -> list[np.ndarray]:
    """A table's columns run through all its lines: a gap of a table line that overlaps a column at least
    ``COLUMN_VOTES`` other lines of its table cut is cut too, unless far narrower than its line's wide
    gaps (``NARROW``: the gap inside a number). Two cells written close in one row stay apart."""
    out = [c.copy() for c in cut]
    blocks = np.cumsum(~np.asarray(table, bool))  # consecutive table lines share a number
    for j, (_, gaps, height) in enumerate(rows):
        if not table[j] or not len(gaps):
            continue
        maybe = np.flatnonzero(~cut[j] & (gaps[:, 1] - gaps[:, 0] >= _column_floor(gaps, height)))
        others = [k for k in range(len(rows)) if k != j and table[k] and blocks[k] == blocks[j]]
        for i in maybe:
            votes = sum(bool((cut[k] & (rows[k][1][:, 0] < gaps[i, 1]) & (rows[k][1][:, 1] > gaps[i, 0])).any()) for k in others)
            out[j][i] = votes >= COLUMN_VOTES
    return out


def _wide(gaps: np.ndarray, height: float) -> np.ndarray:
    """Which gaps of a line may be a table's columns: ``GUTTER`` heights wide, and not far narrower than
    the line's other such gaps (the gap inside a number of a column of numbers is narrower)."""
    g = gaps[:, 1] - gaps[:, 0]
    return (g >= GUTTER * height) & (g >= _column_floor(gaps, height))


def _column_floor(gaps: np.ndarray, height: float) -> float:
    """The narrowest gap of a line that may lie in a table's column: ``NARROW`` times the median of its
    gaps ``GUTTER`` heights wide (infinite when it has none)."""
    g = gaps[:, 1] - gaps[:, 0]
    wide = g[g >= GUTTER * height]
    return NARROW * float(np.median(wide)) if len(wide) else np.inf


def _cell_walls(row, boxes: np.ndarray, printed: np.ndarray, stroke: float) -> np.ndarray:
    """Which of a line's gaps hold a wall of a grid of cells (a sudoku, the columns of a ruled table):
    thin upright printed lines across the line's height that run on past it above or below, ``CELL``
    digit heights apart or more, none crossing the line's digits, each in a gap ``JUMP`` times the
    widest gap with no wall (where two or more have none). Not the walls of a form's row of boxes (they
    end at the row: its digits are one number), nor squared paper (numbers run across its lines, which
    fall in gaps no wider than the others)."""
    order, gaps, height = row
    cut = np.zeros(len(gaps), bool)
    if not len(gaps):
        return cut
    y0, y1 = int(boxes[order, 1].min()), int(boxes[order, 3].max())
    reach = int(round(height))
    covered = np.zeros(printed.shape[1], bool)
    for top, bottom in ((max(0, y0 - reach), y1), (y0, min(len(printed), y1 + reach))):
        if bottom - top > y1 - y0:  # the band runs past the line on this side
            covered |= printed[top:bottom].mean(axis=0) >= CELL_INK
    edges = np.flatnonzero(np.diff(np.concatenate([[0], covered.view(np.int8), [0]])))
    starts, ends = edges[::2], edges[1::2]
    thin = ends - starts <= max(3, 2 * stroke + 1)
    walls = (starts[thin] + ends[thin]) / 2
    if len(walls) < 3 or np.median(np.diff(walls)) < CELL * height:
        return cut
    inside = (walls[None, :] > boxes[order, :1] + stroke) & (walls[None, :] < boxes[order, 2:3] - stroke)
    if inside.any(axis=1).mean() > CELL_CROSSED:
        return cut
    cut = ((walls[None, :] >= gaps[:, :1]) & (walls[None, :] <= gaps[:, 1:])).any(axis=1)
    g = (gaps[:, 1] - gaps[:, 0]) / height + SOFT
    free = ~cut & (g > SOFT)
    if free.sum() >= 2:  # big squares under small, spaced digits: lines fall in a number's gaps too
        cut &= g >= JUMP * float(g[free].max())
    return cut


def extents_along(inkmap: InkMap, labels: np.ndarray, unit: np.ndarray, units: int, slope: float) -> np.ndarray:
    """Each unit's extent (from, to) along lines of ``slope``, measured on its pixels (``unit``: the unit of
    each component ``labels``): a turned digit's upright box is wider than the digit, and eats the gaps
    beside it."""
    ys, xs = np.nonzero(inkmap.mask)
    own = np.full(inkmap.count + 1, -1)
    own[labels] = unit
    k = own[inkmap.labels[ys, xs]]
    ok = k >= 0
    u = (xs[ok] + slope * ys[ok]) / np.hypot(1.0, slope)
    out = np.zeros((units, 2))
    out[:, 0], out[:, 1] = np.inf, -np.inf
    np.minimum.at(out[:, 0], k[ok], u)
    np.maximum.at(out[:, 1], k[ok], u + 1)
    return out
