"""Stage 3, segment: an :class:`InkMap` -> pieces, one digit each, left to right.

Connected components of the stroke mask (8-connected, so thin diagonal strokes hold together), then:

* specks are dropped (tiny next to the largest piece, or too small to be a digit at all);
* pieces of one digit drawn in several strokes are merged: pieces that overlap strongly in x
  (a "4" in two strokes, the separate top bar of a "5") or a small fragment lying over a digit;
* with a ``score`` (the reader's: how surely a piece is one whole digit, read right), neighbouring
  pieces are joined where they read better as one digit (dynamic programming, :func:`_group`);
* touching digits are cut (:mod:`.cuts`): with a ``score``, where the parts read best; without one,
  pieces wider than a digit at their best column.

Work is bounded: at most ``MAX_COMPONENTS`` components and, once strokes are merged, ``MAX_PIECES``
pieces are kept (the largest), ``score`` reads at most
``MAX_READS`` crops (joins are tried only while every run fits, and the pieces that need a cut search
share the reads left alike), cut searches and joins read no more than a :class:`Budget` the lines
of one image share, and pieces larger than ``cuts.MAX_AREA`` are not cut;
:attr:`Segmentation.limits` says which cap was reached. Every cap counts work, not time, so a reading
is the same on a fast machine and a slow or busy one. This stage never normalizes
or reads a piece itself: ``score`` is handed in by the reader, which owns the later stages.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from handwritten_digits.reading import cuts
from handwritten_digits.reading.ink import InkMap
from handwritten_digits.reading.pieces import Piece, short_prior

SPECK_SIDE = 0.25  # a piece shorter than this fraction of the tallest piece ...
SPECK_AREA = 0.03  # ... and smaller than this fraction of the largest piece's area is a speck
MIN_SIDE_PX = 6  # a digit spans at least this many working pixels ...
MIN_SIDE_FRAC = 0.03  # ... and this fraction of the image's longer side
MERGE_OVERLAP = 0.5  # pieces whose x-ranges overlap by this much of the narrower one are one digit
FRAGMENT_GAP = 0.15  # a fragment this close (in line heights) to a piece joins it
GROUP_GAP = 0.25  # with a score, neighbouring pieces this close (in line heights) may be one digit
GROUP_COST = 0.2  # the odds a join must beat: separate pieces are the default reading
MAX_COMPONENTS = 64  # ink components considered in one image at most (the largest) ...
MAX_PIECES = 48  # ... and pieces read, once strokes are merged (the largest): a line of four long numbers has 40
MAX_READS = 96  # crops the score may read in one image (joins and cuts tried): bounds the model's work


@dataclass
class Segmentation:
    """The pieces found, left to right, each with its box in input pixels; ``limits`` names any cap reached."""

    pieces: list[Piece]
    boxes: list[tuple[int, int, int, int]]
    limits: list[str] = field(default_factory=list)


def to_input_box(box: tuple[int, int, int, int], inkmap: InkMap) -> tuple[int, int, int, int]:
    """A working-resolution box mapped to input pixels, clamped inside the image."""
    s = inkmap.scale
    h, w = inkmap.shape
    x0, y0, x1, y1 = box
    x0, y0 = int(np.floor(x0 * s)), int(np.floor(y0 * s))
    x1, y1 = int(np.ceil(x1 * s)), int(np.ceil(y1 * s))
    x0, y0 = min(max(x0, 0), w - 1), min(max(y0, 0), h - 1)
    return x0, y0, min(max(x1, x0 + 1), w), min(max(y1, y0 + 1), h)


def _kept_components(inkmap: InkMap, limits: list[str], min_side: float | None = None) -> np.ndarray:
    """Labels of the components that may be digits: no specks, at most ``MAX_PIECES``, from the stats alone.
    No digit at all unless some piece spans ``min_side`` working pixels (default: ``MIN_SIDE_PX`` and
    ``MIN_SIDE_FRAC`` of the image)."""
    if inkmap.count == 0:
        return np.zeros(0, int)
    stats = inkmap.stats[1:]
    w, h, area = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT], stats[:, cv2.CC_STAT_AREA]
    side = np.maximum(w, h)
    speck = (side < SPECK_SIDE * side.max()) & (area < SPECK_AREA * area.max())
    ok = (area >= 3) & ~speck
    labels = np.flatnonzero(ok) + 1
    if min_side is None:
        min_side = max(MIN_SIDE_PX, MIN_SIDE_FRAC * max(inkmap.mask.shape))
    if len(labels) == 0 or side[labels - 1].max() < min_side:
        return np.zeros(0, int)
    if len(labels) > MAX_COMPONENTS:
        limits.append("pieces")
        labels = np.sort(labels[np.argsort(-area[labels - 1], kind="stable")[:MAX_COMPONENTS]])
    return labels


def _pieces(inkmap: InkMap, labels: np.ndarray, turn: float = 0.0) -> list[Piece]:
    """The pixels of each kept component: box by box, or in one pass over the image when the boxes
    overlap so much (nested rings, a frame around a page) that scanning them costs more. Each piece's
    crop is turned by ``turn`` degrees."""
    stats = inkmap.stats[labels]
    if int((stats[:, cv2.CC_STAT_WIDTH] * stats[:, cv2.CC_STAT_HEIGHT]).sum()) <= 2 * inkmap.labels.size:
        out = []
        for k, (x, y, w, h, _) in zip(labels, stats):
            ys, xs = np.nonzero(inkmap.labels[y : y + h, x : x + w] == k)
            out.append(Piece(ys + y, xs + x, inkmap.ink, turn=turn))
        return out
    keep = np.zeros(inkmap.count + 1, bool)
    keep[labels] = True
    ys, xs = np.nonzero(keep[inkmap.labels])  # row-major, as the box scans give them
    own = inkmap.labels[ys, xs]
    order = np.argsort(own, kind="stable")
    bounds = np.searchsorted(own[order], np.r_[labels, labels[-1] + 1])
    return [Piece(ys[order[a:b]], xs[order[a:b]], inkmap.ink, turn=turn) for a, b in zip(bounds[:-1], bounds[1:])]


def whole(inkmap: InkMap) -> tuple[Piece | None, tuple[int, int, int, int] | None]:
    """All the ink that may belong to a digit (specks removed) as one piece, and its input box; ``None`` if none."""
    labels = _kept_components(inkmap, [])
    if len(labels) == 0:
        return None, None
    keep = np.zeros(inkmap.count + 1, bool)
    keep[labels] = True
    ys, xs = np.nonzero(keep[inkmap.labels])
    piece = Piece(ys, xs, inkmap.ink, rim=False)
    return piece, to_input_box(piece.box, inkmap)


def _boxes(pieces: list[Piece]) -> np.ndarray:
    return np.array([p.box for p in pieces], dtype=np.int64).reshape(-1, 4)


def _merge_strokes(pieces: list[Piece], close: bool = True) -> list[Piece]:
    """Merge pieces of one digit: strong x-overlap, or a small fragment lying over (or ``close`` to) a bigger piece.

    Pairs are checked in left-to-right order and the first pair that qualifies is merged, until none
    does; each round is one vectorised test of every pair. A reading with a score leaves fragments
    merely close to the joins it weighs (:func:`_group`): a small 0 beside a tall 1 is no fragment of it.
    """
    line = max(p.height for p in pieces)
    while len(pieces) > 1:
        pieces.sort(key=lambda p: p.box[0])
        b = _boxes(pieces)
        x0, y0, x1, y1 = (b[:, k] for k in range(4))
        w, h = x1 - x0, y1 - y0
        side = np.maximum(w, h)
        ov = np.minimum(x1[:, None], x1[None]) - np.maximum(x0[:, None], x0[None])
        fragment = np.minimum(side[:, None], side[None]) < 0.5 * line  # the smaller piece is a fragment
        dx = np.maximum(0, np.maximum(x0[:, None], x0[None]) - np.minimum(x1[:, None], x1[None]))
        dy = np.maximum(0, np.maximum(y0[:, None], y0[None]) - np.minimum(y1[:, None], y1[None]))
        near = fragment & (np.hypot(dx, dy) <= FRAGMENT_GAP * line) if close else False
        merge = ((ov > 0) & ((ov >= MERGE_OVERLAP * np.minimum(w[:, None], w[None])) | fragment)) | near
        merge = np.triu(merge, 1)
        if not merge.any():
            break
        i, j = np.unravel_index(int(np.argmax(merge)), merge.shape)  # the first pair, row by row
        pieces[i] = pieces[i].merge(pieces[j])
        del pieces[j]
    return pieces


def _group(pieces: list[Piece], line: float, score, max_runs: int = MAX_READS) -> tuple[list[Piece], np.ndarray | None, int]:
    """Join neighbouring pieces that read better as one digit (a broken stroke, the loose bar of a 5).

    Dynamic programming over the pieces left to right: each run of up to 3 close pieces is either
    one digit or several, scored by ``score`` (how surely a piece is one digit read right), a height
    prior (a short piece alone is rarely a digit) and ``GROUP_COST`` per merge. Returns the pieces,
    their scores and the number of runs (each piece alone is one), with ``None`` for the scores when no
    two pieces are close enough to join (nothing to decide: nothing is read here). When there are more
    than ``max_runs`` runs to read (dozens of close strokes: hatching, not a number), every piece is
    read alone.
    """
    pieces = sorted(pieces, key=lambda p: (p.box[0] + p.box[2]) / 2)
    n = len(pieces)
    # a run joins only close pieces, and never into something wider than a digit (touching digits beside a
    # loose stroke read as nothing whole either way; they are cut later)
    runs = [(i, j) for i in range(n) for j in range(i + 1, min(i + 3, n) + 1)
            if all(pieces[k].box[0] - max(p.box[2] for p in pieces[i:k]) <= GROUP_GAP * line for k in range(i + 1, j))
            and (j == i + 1 or max(p.box[2] for p in pieces[i:j]) - min(p.box[0] for p in pieces[i:j]) <= cuts.MAX_PART * line)]
    if len(runs) == n or len(runs) > max_runs:
        return pieces, None, len(runs)
    merged = {}
    for i, j in runs:
        m = pieces[i]
        for q in pieces[i + 1 : j]:
            m = m.merge(q)
        merged[i, j] = m
    conf = dict(zip(runs, score([merged[r] for r in runs])))
    best = np.full(n + 1, -np.inf)
    best[0] = 0.0
    back = np.zeros(n + 1, int)
    for j in range(1, n + 1):
        for i in range(max(0, j - 3), j):
            if (i, j) not in conf:
                continue
            s = best[i] + np.log(max(float(conf[i, j]), 1e-6)) + short_prior(merged[i, j], line)
            s += (j - i - 1) * np.log(GROUP_COST)
            if s > best[j]:
                best[j], back[j] = s, i
    out, confs, j = [], [], n
    while j > 0:
        i = back[j]
        out.append(merged[i, j])
        confs.append(float(conf[i, j]))
        j = i
    return out[::-1], np.array(confs[::-1]), len(runs)


def line_height(pieces: list[Piece]) -> float:
    heights = np.array([p.height for p in pieces], dtype=float)
    return float(np.median(heights[heights >= 0.5 * heights.max()]))


@dataclass
class Budget:
    """Crops the score may still read, spent by all the lines of one image in turn: in cut searches
    (``cuts``) and in runs of pieces weighed as one digit (``joins``; each piece alone is read anyway)."""

    cuts: int
    joins: int


def segment(inkmap: InkMap, score=None, budget: Budget | None = None, min_side: float | None = None,
            turn: float = 0.0, whole_score=None) -> Segmentation:
    """The digits in ``inkmap``, left to right, each with its box in input pixels.

    Parameters
    ----------
    inkmap : InkMap
        From :func:`handwritten_digits.reading.ink.find_ink`.
    score : callable, optional
        ``score(pieces) -> (N,) array``: how surely each piece is one whole digit, read right. Guides
        joins of broken strokes and cuts of touching digits; without it, wide pieces are cut by shape.
    budget : Budget, optional
        Reads left for cut searches and joins in this image; what this line reads is taken from it (once
        it is spent, pieces are read as they are).
    min_side : float, optional
        Read nothing unless some piece spans this many working pixels (default: ``MIN_SIDE_PX``, and
        ``MIN_SIDE_FRAC`` of the image's longer side: a whole image of one number). A line of a page
        passes the layout's own rule.
    turn : float
        Degrees (counter-clockwise) that turn the digits upright before they are read: a turned page's.
    whole_score : callable, optional
        Like ``score``, for a piece a cut search may split, weighed uncut against its parts (default:
        ``score``): the reader weighs it as one digit, however unusual its shape.
    """
    limits: list[str] = []
    labels = _kept_components(inkmap, limits, min_side)
    if len(labels) == 0:
        return Segmentation([], [], limits)
    pieces = _merge_strokes(_pieces(inkmap, labels, turn), close=score is None)
    if len(pieces) > MAX_PIECES:
        if "pieces" not in limits:
            limits.append("pieces")
        largest = sorted(np.argsort([-p.area for p in pieces], kind="stable")[:MAX_PIECES])
        pieces = [pieces[k] for k in largest]
    line = line_height(pieces)
    reads = [0]  # crops scored so far

    def counted(batch: list[Piece]) -> np.ndarray:
        reads[0] += len(batch)
        return score(batch)

    if score is not None:
        # every piece (and run of close pieces) is read whole in one batch: most need no cut search
        alone, per_line = len(pieces), MAX_READS * 3 // 4
        most = per_line if budget is None else min(per_line, alone + budget.joins)
        pieces, wholes, runs = _group(pieces, line, counted, max_runs=most)
        if budget is not None and wholes is not None:
            budget.joins -= runs - alone
        elif most < runs <= per_line:  # the image's joins are spent
            limits.append("reads")
        wide = [k for k, p in enumerate(pieces) if p.width > cuts.TRY_WIDTH * line]
        fresh = wholes is None  # no joins to weigh: only pieces wide enough for a cut search need a score
        if fresh:
            wholes = np.ones(len(pieces))
            reads[0] += len(wide)
        if wide and (fresh or whole_score is not None):  # weighed uncut, against the parts a cut search makes
            wholes[wide] = (whole_score or score)([pieces[k] for k in wide])
    if score is None:
        out = [part for p in pieces for part in cuts.split(p, line)]
    else:
        out = []
        # pieces whose parts may read better than the whole share the reads left alike (a piece searched
        # first would take them all, and those right of it none)
        searched = [cuts.worth_a_search(p, line, float(w)) for p, w in zip(pieces, wholes)]
        pending, planned = sum(searched), []
        for p, whole, tried in zip(pieces, wholes, searched):
            found = None
            if tried:
                share = (MAX_READS - reads[0]) // pending
                if budget is not None:
                    share = min(share, budget.cuts // pending)
                pending -= 1
                if share >= 1:
                    found = cuts.search(p, line, float(whole), share, limits)
                elif "reads" not in limits:
                    limits.append("reads")
            if found is None:
                out.append(p)
                continue
            reads[0] += len(found[0])
            if budget is not None:
                budget.cuts -= len(found[0])
            planned.append((p, float(whole), *found))
        # the parts of every search on the line read in one batch: a few network runs, not one per piece
        scores = score([part for _, _, parts, _ in planned for part in parts.values()]) if planned else []
        start = 0
        for p, whole, parts, n in planned:
            out += cuts.best_cut(p, line, whole, parts, n, scores[start : start + len(parts)])
            start += len(parts)
    out.sort(key=lambda p: (p.box[0] + p.box[2]) / 2)
    return Segmentation(out, [to_input_box(p.box, inkmap) for p in out], limits)
