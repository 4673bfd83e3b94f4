"""Cutting touching digits apart (part of the segment stage).

Candidate columns are minima of the vertical ink projection near where equal-width digits would meet;
each cut follows the top-to-bottom path through the least ink (so it can pass around a stroke tip that
reaches over the neighbour). With a ``score`` the candidate parts are read (:func:`search`, the parts of
every piece searched on a line in one batch) and the best partition is kept (:func:`best_cut`) when its
parts together score ``CUT_COST`` times better per cut than the whole. On a page turned ``UPRIGHT``
degrees or more the search cuts a piece in its line's own frame (turned upright, as its crop is read).
Without one, a piece wider than ``SPLIT_WIDTH`` line heights is cut at the best column where only one
stroke is crossed. The number of candidate columns is capped, so a cut search costs a bounded number
of reads whatever the piece.
"""

from __future__ import annotations

import cv2
import numpy as np

from handwritten_digits.reading.ink import stroke_width, turning
from handwritten_digits.reading.pieces import Piece, short_prior

SPLIT_WIDTH = 1.05  # without a score, pieces wider than this many line heights are cut
TRY_WIDTH = 0.55  # with a score, cuts are tried on pieces wider than this many line heights
CUT_COST = 3.0  # each cut must multiply the joint score of the parts by this factor
MAX_CUTS = 12  # candidate cut columns tried in one piece (at least) ...
MAX_COLUMNS = 24  # ... and at most, however wide the piece: the parts read grow as its square
MAX_PART = 1.6  # no part of a cut piece is wider than this many line heights
MAX_AREA = 60_000  # pieces with more stroke pixels than this (a hatched page, not touching digits) are not cut
MAX_BAND = 40  # a cut path strays at most this many pixels from its column (the rows' work grows with it)
DIGIT_WIDTH = 0.9  # typical digit width plus spacing, in line heights, to guess how many digits touch
WIDE = 1.25  # without a score, above this width a cut may cross more than one stroke (overlapping digits)
UPRIGHT = 8.0  # a piece of a page turned this many degrees or more is cut turned upright (less: paths wander enough)


def _mask(piece: Piece) -> np.ndarray:
    x0, y0, x1, y1 = piece.box
    mask = np.zeros((y1 - y0, x1 - x0), bool)
    mask[piece.ys - y0, piece.xs - x0] = True
    return mask


def cut_paths(piece: Piece, columns: list[int], line: float) -> np.ndarray:
    """For cuts at each of ``columns``, the cut's column in each row of the piece: the top-to-bottom path
    through the least ink, shape (len(columns), height).

    A path may wander ``0.3 * line`` px from its column (one column per row at most), so it passes
    around a tip of one digit that reaches past the edge of the next, where a straight cut cannot.
    Columns are relative to the piece's box. All paths are found together, one row at a time.
    """
    x0, y0, x1, y1 = piece.box
    h, w = y1 - y0, x1 - x0
    band = min(MAX_BAND, max(2, int(0.3 * line)))
    mask = np.pad(_mask(piece), ((0, 0), (0, 2 * band + 2)))  # room on the right: every band has the same width
    cc = np.asarray(columns, int) - x0
    lo = np.maximum(1, cc - band)
    width = 2 * band + 1
    cols = lo[:, None] + np.arange(width)  # (k, width) absolute columns of each band
    valid = cols < np.minimum(w, cc + band + 1)[:, None]
    # ink crossed, and straying from the column; outside the piece (or past the band): never
    cost = mask[:, cols] + 0.3 * np.abs(cols - cc[:, None]) / band  # (h, k, width)
    cost = np.where(valid, cost, np.inf)
    acc = cost[0].copy()
    back = np.zeros((h, len(cc), width), np.int8)
    inf = np.full((len(cc), 1), np.inf)
    for y in range(1, h):
        left = np.concatenate([inf, acc[:, :-1]], axis=1)
        right = np.concatenate([acc[:, 1:], inf], axis=1)
        # the first of (left, straight, right) that is smallest, as argmin over them would choose
        step = np.where(left <= acc, np.where(left <= right, -1, 1), np.where(acc <= right, 0, 1))
        back[y] = step
        acc = cost[y] + np.minimum(np.minimum(left, acc), right)
    j = acc.argmin(axis=1)
    rows = np.arange(len(cc))
    path = np.empty((len(cc), h), int)
    for y in range(h - 1, -1, -1):
        path[:, y] = lo + j
        j = j + back[y, rows, j]
    return path


def left_of(piece: Piece, path: np.ndarray) -> np.ndarray:
    """Which of the piece's pixels lie left of a cut ``path``."""
    x0, y0, _, _ = piece.box
    return (piece.xs - x0) < path[piece.ys - y0]


def _cut(piece: Piece, c: int, line: float) -> tuple[Piece, Piece] | None:
    """Split at column ``c`` along its cut path; ``None`` if one side would be empty."""
    left = left_of(piece, cut_paths(piece, [c], line)[0])
    if left.all() or not left.any():
        return None
    return piece.subset(left), piece.subset(~left)


def candidates(piece: Piece, line: float, parts: int, limit: int = 5, one_stroke: bool = True,
               anywhere: bool = False, apart: float = 0.0) -> list[int]:
    """Columns where the piece is best cut: low ink projection, near where equal-width digits would meet
    (or ``anywhere``, spread at least a tenth of a line height apart), and at least ``apart`` px apart."""
    x0 = piece.box[0]
    mask = _mask(piece)
    raw = mask.sum(axis=0).astype(float)
    proj = np.convolve(raw, np.ones(3) / 3, mode="same")
    w = mask.shape[1]
    margin = max(1, int(0.15 * line))
    if w - 2 * margin < 1:
        return []
    cols = np.arange(margin, w - margin)
    # Touching digits meet in one stroke: a cut through two or more strokes (a loop) is not a join.
    if one_stroke:
        thick = stroke_width(mask)
        cols = cols[raw[cols] <= 1.6 * thick + 1]
    if len(cols) == 0:
        return []
    expected = w / parts  # the first cut sits one digit-width from the left
    cost = proj[cols] / max(proj.max(), 1.0)
    if not anywhere:
        cost = cost + 0.6 * ((cols - expected) / max(w, 1)) ** 2 * parts
    best = cols[np.argsort(cost, kind="stable")]
    spacing = max(1, (0.1 if anywhere else 0.05) * line, apart)
    chosen: list[int] = []
    for c in best:
        if all(abs(c - d) > spacing for d in chosen):
            chosen.append(int(c))
        if len(chosen) >= limit:
            break
    return [x0 + c for c in chosen]


def split(piece: Piece, line: float, depth: int = 0) -> list[Piece]:
    """Without a score: cut pieces wider than ``SPLIT_WIDTH`` line heights at their best column, recursively."""
    ratio = piece.width / line
    if ratio <= SPLIT_WIDTH or depth > 6:
        return [piece]
    parts = max(2, int(round(ratio / DIGIT_WIDTH)))
    found = candidates(piece, line, parts, limit=1, one_stroke=ratio < WIDE)
    halves = _cut(piece, found[0], line) if found else None
    if halves is None:
        return [piece]
    return [q for half in halves for q in split(half, line, depth + 1)]


def partitions(piece: Piece, line: float, reads: int = 10**6) -> tuple[dict[tuple[int, int], Piece], int]:
    """The parts a cut search weighs: ``{(i, j): part}`` between cut boundaries i < j (0 the left edge,
    ``n - 1`` the right), each at most ``MAX_PART`` line heights wide, the whole piece left out; and ``n``.

    Candidate columns are as many as make parts that fit in ``reads``, the fewer the further apart.
    """
    view, rows, cols = _upright(piece)  # a turned page's line is cut across its own slope
    parts = max(2, int(round(view.width / line / DIGIT_WIDTH)))
    # they may overlap, so any column may be a join
    limit = min(MAX_COLUMNS, max(MAX_CUTS, 4 * parts))
    while limit * (limit + 3) // 2 > reads and limit:  # k columns make at most (k+2)(k+1)/2 - 1 parts
        limit -= 1
    # the few columns a tight budget allows are spread over the piece: the lowest ones often lie in
    # one low stretch (the bar of a 4), and the join beside it would go untried
    columns = sorted(candidates(view, line, parts, limit=limit, one_stroke=False, anywhere=True,
                                apart=view.width / (2 * (limit + 1)))) if limit else []
    # boundary k: which pixels lie left of it (none for the left edge, all for the right edge)
    paths = cut_paths(view, columns, line) if columns else []
    bounds = [np.zeros(piece.area, bool)] + [cols < path[rows] for path in paths]
    bounds.append(np.ones(piece.area, bool))
    n = len(bounds)
    segments: dict[tuple[int, int], Piece] = {}
    for i in range(n - 1):
        for j in range(i + 1, n):
            inside = bounds[j] & ~bounds[i]
            if (i, j) == (0, n - 1) or not inside.any():
                continue
            width = int(np.ptp(cols[inside])) + 1
            if 0.1 * line <= width <= MAX_PART * line:
                segments[i, j] = piece.subset(inside)
    return segments, n


def _upright(piece: Piece) -> tuple[Piece, np.ndarray, np.ndarray]:
    """The piece as its crop is read, turned upright by its ``turn`` (its mask on a canvas that holds it
    all), and the row and column there of each of the piece's pixels, relative to that view's box."""
    x0, y0, _, _ = piece.box
    if abs(piece.turn) < UPRIGHT:
        return piece, piece.ys - y0, piece.xs - x0
    mask = _mask(piece)
    turn, size = turning(mask.shape, piece.turn, margin=2)
    level = cv2.warpAffine(mask.view(np.uint8), turn, size, flags=cv2.INTER_NEAREST)
    ys, xs = np.nonzero(level)
    if len(ys) == 0:
        return piece, piece.ys - y0, piece.xs - x0
    view = Piece(ys, xs, piece.ink)
    px, py = piece.xs - x0, piece.ys - y0
    cols = np.rint(turn[0, 0] * px + turn[0, 1] * py + turn[0, 2]).astype(int) - view.box[0]
    rows = np.rint(turn[1, 0] * px + turn[1, 1] * py + turn[1, 2]).astype(int) - view.box[1]
    return view, np.clip(rows, 0, view.height - 1), cols


def worth_a_search(piece: Piece, line: float, whole: float) -> bool:
    """Whether a cut search could change ``piece``: wider than ``TRY_WIDTH`` line heights, and its whole
    (read ``whole``) unsure enough for some partition to beat it."""
    return piece.width > TRY_WIDTH * line and whole * CUT_COST < 1.0


def search(piece: Piece, line: float, whole: float, reads: int = 10**6,
           limits: list[str] | None = None) -> tuple[dict[tuple[int, int], Piece], int] | None:
    """The parts a search for cuts of touching digits in ``piece`` reads (:func:`partitions`, at most
    ``reads``), or ``None`` where none is made: a narrow piece, one whose whole (read ``whole``) no
    partition could beat, or one larger than ``MAX_AREA`` pixels (``limits`` says so)."""
    if not worth_a_search(piece, line, whole):
        return None  # narrow, or no partition could beat the whole: skip the search (the hot path)
    if piece.area > MAX_AREA:
        _note(limits, "size")
        return None
    segments, n = partitions(piece, line, reads)
    return (segments, n) if segments else None


def best_cut(piece: Piece, line: float, whole: float, segments: dict[tuple[int, int], Piece], n: int,
             scores: np.ndarray) -> list[Piece]:
    """Touching digits cut where the parts of :func:`search` read best (``scores``: how surely each is one
    whole digit, in ``segments``' order; ``whole``: the uncut piece's), in any number of parts.

    Dynamic programming over the cuts: a partition scores the product of its parts' scores (and height
    priors: a short part is rarely a digit), divided by ``CUT_COST`` per cut; the uncut piece is one of
    the partitions.
    """
    logs = {k: v + short_prior(seg, line) for (k, seg), v in zip(segments.items(), np.log(np.maximum(scores, 1e-6)))}
    logs[0, n - 1] = float(np.log(max(whole, 1e-6)))
    segments = {**segments, (0, n - 1): piece}
    best = np.full(n, -np.inf)
    best[0] = np.log(CUT_COST)  # every part pays CUT_COST but the first: k parts, k - 1 cuts
    back = np.zeros(n, int)
    for j in range(1, n):
        for i in range(j):
            if (i, j) in logs and best[i] - np.log(CUT_COST) + logs[i, j] > best[j]:
                best[j], back[j] = best[i] - np.log(CUT_COST) + logs[i, j], i
    out, j = [], n - 1
    while j > 0:
        out.append(segments[back[j], j])
        j = back[j]
    return out[::-1]


def _note(limits: list[str] | None, cap: str) -> None:
    if limits is not None and cap not in limits:
        limits.append(cap)
