"""Split the ink of an image into digits, left to right.

Connected components of the stroke mask (8-connected, so thin diagonal strokes hold together),
then:

* specks are dropped (tiny next to the largest piece, or too small to be a digit at all);
* pieces of one digit drawn in several strokes are merged: pieces that overlap strongly in x
  (a "4" in two strokes, the separate top bar of a "5") or a small fragment lying over a digit;
* with a ``scorer`` (the recognizer's :meth:`~handwritten_digits.runtime.Recognizer.piece_scores`:
  how surely a crop is one whole digit, read right), neighbouring pieces are joined where they
  read better as one digit (a broken stroke, the loose bar of a 5; dynamic programming over the
  pieces, ``_group``);
* touching digits are cut: candidate columns are minima of the vertical ink projection near where
  equal-width digits would meet; each cut follows the top-to-bottom path through the least ink
  (so it can pass around a stroke tip that reaches over the neighbour). With a ``scorer`` every
  candidate is read in one batch and the best cut is made when both halves together score
  ``CUT_COST`` times better than the whole. Without one, a piece wider than ``SPLIT_WIDTH`` line
  heights is cut at the best column where only one stroke is crossed.

Boxes are returned in input-image pixels.
"""

from __future__ import annotations

import functools

import numpy as np

from handwritten_digits.preprocess import Digit, InkMap, _dilate3, normalize_digit, stroke_width

SPECK_SIDE = 0.25  # a piece shorter than this fraction of the tallest piece ...
SPECK_AREA = 0.03  # ... and smaller than this fraction of the largest piece's area is a speck
MIN_SIDE_PX = 6  # a digit spans at least this many working pixels ...
MIN_SIDE_FRAC = 0.03  # ... and this fraction of the image's longer side
MERGE_OVERLAP = 0.5  # pieces whose x-ranges overlap by this much of the narrower one are one digit
FRAGMENT_GAP = 0.15  # a fragment this close (in line heights) to a piece joins it
SPLIT_WIDTH = 1.05  # without a scorer, pieces wider than this many line heights are cut
TRY_WIDTH = 0.55  # with a scorer, cuts are tried on pieces wider than this many line heights
CUT_COST = 3.0  # each cut must multiply the joint score of the parts by this factor
MAX_CUTS = 12  # candidate cut columns tried in one piece
MAX_PART = 1.6  # no part of a cut piece is wider than this many line heights
DIGIT_WIDTH = 0.9  # typical digit width plus spacing, in line heights, to guess how many digits touch
WIDE = 1.25  # without a scorer, above this width a cut may cross more than one stroke (overlapping digits)
GROUP_GAP = 0.25  # with a scorer, neighbouring pieces this close (in line heights) may be one digit
GROUP_COST = 0.2  # the odds a join must beat: separate pieces are the default reading
SHORT = (0.3, 0.6)  # a piece under SHORT[1] line heights tall is unlikely a whole digit (none at SHORT[0])


class _Piece:
    """A set of pixels (working resolution) believed to be one digit."""

    def __init__(self, ys: np.ndarray, xs: np.ndarray):
        self.ys, self.xs = ys, xs

    @functools.cached_property
    def box(self) -> tuple[int, int, int, int]:
        return int(self.xs.min()), int(self.ys.min()), int(self.xs.max()) + 1, int(self.ys.max()) + 1

    @property
    def width(self) -> int:
        return int(self.xs.max() - self.xs.min() + 1)

    @property
    def height(self) -> int:
        return int(self.ys.max() - self.ys.min() + 1)

    @property
    def area(self) -> int:
        return len(self.xs)

    def merge(self, other: "_Piece") -> "_Piece":
        return _Piece(np.concatenate([self.ys, other.ys]), np.concatenate([self.xs, other.xs]))

    def normalized(self, ink: np.ndarray) -> np.ndarray | None:
        """The 28x28 model input of this piece (computed once: scoring and output share it)."""
        if not hasattr(self, "_normalized"):
            self._normalized = normalize_digit(_crop(self, ink))
        return self._normalized


def to_input_box(box: tuple[int, int, int, int], inkmap: InkMap) -> tuple[int, int, int, int]:
    """A working-resolution box mapped to input pixels, clamped inside the image."""
    s = inkmap.scale
    h, w = inkmap.shape
    x0, y0, x1, y1 = box
    x0, y0 = int(np.floor(x0 * s)), int(np.floor(y0 * s))
    x1, y1 = int(np.ceil(x1 * s)), int(np.ceil(y1 * s))
    x0, y0 = min(max(x0, 0), w - 1), min(max(y0, 0), h - 1)
    return x0, y0, min(max(x1, x0 + 1), w), min(max(y1, y0 + 1), h)


def _components(inkmap: InkMap) -> list[_Piece]:
    """Connected stroke pieces without specks; empty when nothing is big enough to be a digit."""
    from handwritten_digits.preprocess import _label

    if not inkmap.mask.any():
        return []
    comp, ys, xs, count = inkmap.pieces if inkmap.pieces is not None else _label(inkmap.mask)
    order = np.argsort(comp, kind="stable")
    starts = np.searchsorted(comp[order], np.arange(count + 1))
    pieces = [_Piece(ys[order[starts[i] : starts[i + 1]]], xs[order[starts[i] : starts[i + 1]]]) for i in range(count)]
    tallest = max(max(p.height, p.width) for p in pieces)
    largest = max(p.area for p in pieces)
    pieces = [
        p for p in pieces
        if p.area >= 3 and not (max(p.height, p.width) < SPECK_SIDE * tallest and p.area < SPECK_AREA * largest)
    ]
    min_side = max(MIN_SIDE_PX, MIN_SIDE_FRAC * max(inkmap.mask.shape))
    if not pieces or max(max(p.height, p.width) for p in pieces) < min_side:
        return []
    return pieces


def digit_components(inkmap: InkMap) -> np.ndarray | None:
    """Mask of the ink that may belong to a digit (specks removed); ``None`` when there is none."""
    pieces = _components(inkmap)
    if not pieces:
        return None
    keep = np.zeros(inkmap.mask.shape, bool)
    for p in pieces:
        keep[p.ys, p.xs] = True
    return keep


def _overlap(a: _Piece, b: _Piece) -> int:
    ax0, _, ax1, _ = a.box
    bx0, _, bx1, _ = b.box
    return min(ax1, bx1) - max(ax0, bx0)


def _distance(a: _Piece, b: _Piece) -> float:
    """Gap between two boxes (0 when they overlap)."""
    ax0, ay0, ax1, ay1 = a.box
    bx0, by0, bx1, by1 = b.box
    dx = max(0, max(ax0, bx0) - min(ax1, bx1))
    dy = max(0, max(ay0, by0) - min(ay1, by1))
    return float(np.hypot(dx, dy))


def _merge_strokes(pieces: list[_Piece]) -> list[_Piece]:
    """Merge pieces of one digit: strong x-overlap, or a small fragment lying over a bigger piece."""
    line = max(p.height for p in pieces)
    changed = True
    while changed and len(pieces) > 1:
        changed = False
        pieces.sort(key=lambda p: p.box[0])
        for i in range(len(pieces)):
            for j in range(i + 1, len(pieces)):
                a, b = pieces[i], pieces[j]
                ov = _overlap(a, b)
                small = min(a, b, key=lambda p: max(p.height, p.width))
                fragment = max(small.height, small.width) < 0.5 * line
                # a fragment (a broken-off stroke end) joins a piece it overlaps or nearly touches
                close = fragment and _distance(a, b) <= FRAGMENT_GAP * line
                if (ov > 0 and (ov >= MERGE_OVERLAP * min(a.width, b.width) or fragment)) or close:
                    # a fragment below/above another digit's overhang belongs to the one it overlaps most
                    pieces[i] = a.merge(b)
                    del pieces[j]
                    changed = True
                    break
            if changed:
                break
    return pieces


def _short_prior(piece: _Piece, line: float) -> float:
    """Log-prior that ``piece`` is a whole digit from its height: every digit spans most of the line."""
    lo, hi = SHORT
    return float(np.log(np.clip((piece.height / line - lo) / (hi - lo), 0.01, 1.0)))


def _group(pieces: list[_Piece], ink: np.ndarray, line: float, scorer) -> tuple[list[_Piece], np.ndarray]:
    """Join neighbouring pieces that read better as one digit (a broken stroke, the loose bar of a 5).

    Dynamic programming over the pieces left to right: each run of up to 3 close pieces is either
    one digit or several, scored by the model's confidence in each digit, a height prior (a short
    piece alone is rarely a digit) and ``GROUP_COST`` per merge. Returns the pieces and their confidences.
    """
    pieces = sorted(pieces, key=lambda p: (p.box[0] + p.box[2]) / 2)
    n = len(pieces)
    runs = [(i, j) for i in range(n) for j in range(i + 1, min(i + 3, n) + 1)
            if all(pieces[k].box[0] - max(q.box[2] for q in pieces[i:k]) <= GROUP_GAP * line for k in range(i + 1, j))]
    merged = {}
    for i, j in runs:
        m = pieces[i]
        for q in pieces[i + 1 : j]:
            m = m.merge(q)
        merged[i, j] = m
    conf = dict(zip(runs, _confidence(scorer, [merged[r] for r in runs], ink)))
    best = np.full(n + 1, -np.inf)
    best[0] = 0.0
    back = np.zeros(n + 1, int)
    for j in range(1, n + 1):
        for i in range(max(0, j - 3), j):
            if (i, j) not in conf:
                continue
            score = best[i] + np.log(max(float(conf[i, j]), 1e-6)) + _short_prior(merged[i, j], line)
            score += (j - i - 1) * np.log(GROUP_COST)
            if score > best[j]:
                best[j], back[j] = score, i
    out, confs, j = [], [], n
    while j > 0:
        i = back[j]
        out.append(merged[i, j])
        confs.append(float(conf[i, j]))
        j = i
    return out[::-1], np.array(confs[::-1])


def _line_height(pieces: list[_Piece]) -> float:
    heights = np.array([p.height for p in pieces], dtype=float)
    return float(np.median(heights[heights >= 0.5 * heights.max()]))


def _crop(piece: _Piece, ink: np.ndarray) -> np.ndarray:
    """The piece's soft ink (its pixels and their anti-aliased rim) in a tight crop."""
    x0, y0, x1, y1 = piece.box
    x0p, y0p = max(x0 - 1, 0), max(y0 - 1, 0)
    x1p, y1p = min(x1 + 1, ink.shape[1]), min(y1 + 1, ink.shape[0])
    own = np.zeros((y1p - y0p, x1p - x0p), bool)
    own[piece.ys - y0p, piece.xs - x0p] = True
    crop = np.where(_dilate3(own), ink[y0p:y1p, x0p:x1p], 0.0).astype(np.float32)
    crop[own] = np.maximum(crop[own], 0.05)
    return crop


def _cut_path(piece: _Piece, c: int, line: float) -> np.ndarray:
    """The column of a cut at ``c`` in each row of the piece: the top-to-bottom path through the least ink.

    The path may wander ``0.3 * line`` px from ``c`` (one column per row at most), so it passes
    around a tip of one digit that reaches past the edge of the next, where a straight cut cannot.
    Columns are relative to the piece's box.
    """
    x0, y0, x1, y1 = piece.box
    h, w = y1 - y0, x1 - x0
    cc = c - x0
    path = np.full(h, cc)
    mask = np.zeros((h, w), bool)
    mask[piece.ys - y0, piece.xs - x0] = True
    band = max(2, int(0.3 * line))
    lo, hi = max(1, cc - band), min(w, cc + band + 1)
    cols = np.arange(lo, hi)
    cost = mask[:, lo:hi] + 0.3 * np.abs(cols - cc) / band  # ink crossed, and straying from c
    acc = cost[0].copy()
    back = np.zeros((h, hi - lo), np.int8)
    for y in range(1, h):
        options = np.stack([np.r_[np.inf, acc[:-1]], acc, np.r_[acc[1:], np.inf]])
        step = options.argmin(axis=0)
        back[y] = step - 1
        acc = cost[y] + options[step, np.arange(hi - lo)]
    j = int(acc.argmin())
    for y in range(h - 1, -1, -1):
        path[y] = lo + j
        j += int(back[y, j])
    return path


def _left_of(piece: _Piece, path: np.ndarray) -> np.ndarray:
    """Which of the piece's pixels lie left of a cut ``path``."""
    x0, y0, _, _ = piece.box
    return (piece.xs - x0) < path[piece.ys - y0]


def _cut(piece: _Piece, c: int, line: float) -> tuple[_Piece, _Piece] | None:
    """Split at column ``c`` along :func:`_cut_path`; ``None`` if one side would be empty."""
    left = _left_of(piece, _cut_path(piece, c, line))
    if left.all() or not left.any():
        return None
    return _Piece(piece.ys[left], piece.xs[left]), _Piece(piece.ys[~left], piece.xs[~left])


def _cut_candidates(
    piece: _Piece, ink: np.ndarray, line: float, parts: int, limit: int = 5, one_stroke: bool = True,
    anywhere: bool = False,
) -> list[int]:
    """Columns where the piece is best cut: low ink projection, near where equal-width digits would meet
    (or ``anywhere``, spread at least a tenth of a line height apart)."""
    x0, y0, x1, y1 = piece.box
    mask = np.zeros((y1 - y0, x1 - x0), bool)
    mask[piece.ys - y0, piece.xs - x0] = True
    raw = mask.sum(axis=0).astype(float)
    proj = np.convolve(raw, np.ones(3) / 3, mode="same")
    w = x1 - x0
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
    spacing = max(1, (0.1 if anywhere else 0.05) * line)
    chosen: list[int] = []
    for c in best:
        if all(abs(c - d) > spacing for d in chosen):
            chosen.append(int(c))
        if len(chosen) >= limit:
            break
    return [x0 + c for c in chosen]


def _split(piece: _Piece, ink: np.ndarray, line: float, depth: int = 0) -> list[_Piece]:
    """Without a scorer: cut pieces wider than ``SPLIT_WIDTH`` line heights at their best column, recursively."""
    ratio = piece.width / line
    if ratio <= SPLIT_WIDTH or depth > 6:
        return [piece]
    parts = max(2, int(round(ratio / DIGIT_WIDTH)))
    candidates = _cut_candidates(piece, ink, line, parts, limit=1, one_stroke=ratio < WIDE)
    halves = _cut(piece, candidates[0], line) if candidates else None
    if halves is None:
        return [piece]
    return [q for half in halves for q in _split(half, ink, line, depth + 1)]


def _split_scored(piece: _Piece, ink: np.ndarray, line: float, scorer, whole: float) -> list[_Piece]:
    """Cut touching digits where the scorer reads the parts best (any number of parts).

    Dynamic programming over candidate cuts: a partition scores the product of its parts' scores
    (and height priors: a short part is rarely a digit), divided by ``CUT_COST`` per cut; the uncut
    piece (score ``whole``) is one of the partitions.
    """
    ratio = piece.width / line
    if ratio <= TRY_WIDTH or whole * CUT_COST >= 1.0:
        return [piece]  # narrow, or no partition could beat the whole: skip the search (the hot path)
    parts = max(2, int(round(ratio / DIGIT_WIDTH)))
    # they may overlap, so any column may be a join
    columns = sorted(_cut_candidates(piece, ink, line, parts, limit=max(MAX_CUTS, 4 * parts), one_stroke=False, anywhere=True))
    # boundary k: which pixels lie left of it (none for the left edge, all for the right edge)
    bounds = [np.zeros(piece.area, bool)] + [_left_of(piece, _cut_path(piece, c, line)) for c in columns]
    bounds.append(np.ones(piece.area, bool))
    n = len(bounds)
    segments: dict[tuple[int, int], _Piece] = {}
    for i in range(n - 1):
        for j in range(i + 1, n):
            inside = bounds[j] & ~bounds[i]
            if (i, j) == (0, n - 1) or not inside.any():
                continue
            seg = _Piece(piece.ys[inside], piece.xs[inside])
            if 0.1 * line <= seg.width <= MAX_PART * line:
                segments[i, j] = seg
    if not segments:
        return [piece]
    scores = np.log(np.maximum(_confidence(scorer, list(segments.values()), ink), 1e-6))
    logs = {k: v + _short_prior(seg, line) for (k, seg), v in zip(segments.items(), scores)}
    logs[0, n - 1] = float(np.log(max(whole, 1e-6)))
    segments[0, n - 1] = piece
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


def _confidence(scorer, pieces: list[_Piece], ink: np.ndarray) -> np.ndarray:
    images = []
    for p in pieces:
        image = p.normalized(ink)
        images.append(image if image is not None else np.zeros((28, 28), np.float32))
    probs = np.asarray(scorer(np.stack(images)))
    return probs.max(axis=1) if probs.ndim == 2 else probs


def segment(inkmap: InkMap, scorer=None) -> list[Digit]:
    """The digits in ``inkmap``, left to right, each with its box in input pixels.

    Parameters
    ----------
    inkmap : InkMap
        From :func:`handwritten_digits.preprocess.find_ink`.
    scorer : callable, optional
        ``scorer(images (N, 28, 28)) -> probabilities (N, 10)`` to guide cuts of touching digits.
    """
    pieces = _components(inkmap)
    if not pieces:
        return []
    pieces = _merge_strokes(pieces)
    line = _line_height(pieces)
    if scorer is not None:
        # every piece (and run of close pieces) is read whole in one batch: most need no cut search
        pieces, wholes = _group(pieces, inkmap.ink, line, scorer)
    else:
        wholes = [None] * len(pieces)
    out: list[_Piece] = []
    for p, whole in zip(pieces, wholes):
        out += _split(p, inkmap.ink, line) if scorer is None else _split_scored(p, inkmap.ink, line, scorer, float(whole))
    out.sort(key=lambda p: (p.box[0] + p.box[2]) / 2)
    digits = []
    for p in out:
        image = p.normalized(inkmap.ink)
        if image is not None:
            digits.append(Digit(image=image, box=to_input_box(p.box, inkmap)))
    return digits
