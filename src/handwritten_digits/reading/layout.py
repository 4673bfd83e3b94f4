"""Stage 2b, layout: an :class:`InkMap` -> its lines of text, top to bottom, and the numbers on each.

Works on the ink's connected components (their stats, a few whole-image morphology passes):

* paper is cleaned first: long straight runs of ink (ruled or squared paper, table borders, a page
  edge) and ink far thicker than a stroke (a shadow, a stain, the desk around a note) are removed,
  strokes that cross a printed line kept, and the components renumbered (:attr:`Layout.inkmap`);
* specks are ignored (segment's rule, measured against the page's typical digit, not its largest piece),
  and so are pieces no digit makes (far taller than the digits, a hairline, a long flat dash unless it
  lies on top of a digit as the bar of a 5 drawn apart, a thin piece far paler than the pen);
* pieces stacked close over each other (a digit broken across, the bar of a 5) are one unit;
* units of digit height are chained into lines: each is linked to its best right neighbour when
  that one's best left neighbour is it, offsets measured along the page's slope (a turned sheet: first
  from nearest neighbours, then from the longer chains); a curved line follows its own direction;
  chains that continue each other are joined the same way, each chain's own direction trusted only as
  far as it runs; lines are read top to bottom;
* short chains and smaller units (the dots of a broken stroke) join the line whose band they overlap
  most; a small unit that joins no line is dropped; a line that is only the broken-off part of the
  digits next to it (the bar of a 5 over its bowl) joins their line;
* gaps that separate two numbers are told by :mod:`.gaps` (clearly wider than the digit spacing, the
  columns of a table, the printed walls of a grid's cells).

Work is bounded: at most ``MAX_COMPONENTS`` components (the largest) are considered.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from handwritten_digits.reading import gaps
from handwritten_digits.reading.ink import InkMap
from handwritten_digits.reading.paper import HAIR, MIN_SIDE_PX, TALLEST, clean, typical_height

SPECK_SIDE, SPECK_AREA = 0.25, 0.03  # segment's speck fractions, here of the typical digit's height and area
MAX_COMPONENTS = 2000  # the largest components considered: bounds the pairwise work
BODY = 0.45  # a piece this much of the typical digit height or taller makes lines; smaller ones join them
ALIGN = 0.5  # neighbours on a line: centres within this many heights vertically ...
SLOPE = float(np.tan(np.radians(8)))  # ... plus this much per pixel of gap, off the page's slope (a line slanted its own way)
NEAR = 4.0  # ... over gaps of up to this many heights (across a wider gap, _join follows the chains' own fits)
NEIGHBOUR = 2.0  # the first slope guess counts neighbours this many digit heights apart at most
TURNED = 3.0  # a page whose lines slope this many degrees or more is turned (its digits are read upright,
TURNED_PIECES = 4  # gaps measured along its lines) if they hold this many pieces (fewer: maybe a rising line)
STEEPEST = 1.0  # the steepest line (a turned page): 45 degrees
REACH = 12.0  # ... and gaps of at most this many heights
WEIGHT = 3.0  # a vertical offset costs this many times a horizontal gap
TOUCH = 0.35  # a line this close (in heights) under or over another, within its x-range, ...
CAP = 1.6  # ... and no taller together than this many of the taller's heights is part of it (a broken digit)
PALE, PALE_WIDTH = 0.4, 1.5  # a piece with mean ink under this share of the pen's median, this many strokes wide, is print
PALE_CORE = 0.6  # ... as is one whose darkest ink is under this share (no pen's stroke is pale all along)
THIN = 8  # a piece across the image this many times longer than wide is a line
TIGHT = 0.12  # one piece this close (in heights) over another, each a line alone, is one digit broken across

Box = tuple[int, int, int, int]


@dataclass
class Region:
    """One number: the component ``labels`` it holds and their ``box`` (x0, y0, x1, y1 exclusive, working px)."""

    labels: np.ndarray
    box: Box


@dataclass
class Line:
    """A line of text: its numbers left to right, box, digit height (px) and slope (dy/dx)."""

    numbers: list[Region]
    box: Box
    height: float
    slope: float

    @property
    def labels(self) -> np.ndarray:
        return np.concatenate([r.labels for r in self.numbers])


@dataclass
class Layout:
    """The lines top to bottom. Labels refer to ``inkmap``: the input, or a copy with paper lines,
    shadows and stains removed (``removed`` says which), renumbered."""

    lines: list[Line]
    box: Box | None
    inkmap: InkMap
    removed: list[str] = field(default_factory=list)
    turn: float = 0.0  # degrees (counter-clockwise) that set the page upright: its lines' slope, when clearly turned


def layout(inkmap: InkMap) -> Layout:
    """The lines of text in ``inkmap``, top to bottom, and the numbers on each, left to right."""
    if inkmap.count == 0:
        return Layout([], None, inkmap)
    raw = inkmap  # before cleaning
    inkmap, removed, stroke = clean(inkmap)
    labels = np.arange(1, inkmap.count + 1)
    st = inkmap.stats[1:].astype(np.float64)
    if len(st) > MAX_COMPONENTS:
        top = np.sort(np.argsort(-st[:, 4], kind="stable")[:MAX_COMPONENTS])
        labels, st = labels[top], st[top]
    if len(st) == 0:
        return Layout([], None, inkmap, removed)
    x0, y0, w, h, area = st.T
    side = np.maximum(w, h)
    ih, iw = inkmap.mask.shape
    height = typical_height(st)
    # thin lines across the whole image (a note's edges, too short for printed lines) measure no digit,
    # unless what is left is no taller than they are thick (a tight crop of a 1 and its specks)
    across = (((x0 <= 0) & (x0 + w >= iw)) | ((y0 <= 0) & (y0 + h >= ih))) & (side >= THIN * np.minimum(w, h))
    if across.any() and not across.all():
        rest = typical_height(st[~across])
        height = rest if rest > np.minimum(w, h)[across].max() else height
    tall = h >= BODY * height
    ref_area = float(np.median(area[tall])) if tall.any() else float(area.max())
    speck = (side < SPECK_SIDE * height) & (area < SPECK_AREA * ref_area) | (area < 3)
    # not digits: a piece far taller than the digits or long along the image's edge (a page edge, a desk),
    # a long hairline (what is left of a printed line), a long thin piece lying flat (but not a 5's bar),
    # a thin piece far paler than the pen (print left over: a margin line's end, the edge of the sheet)
    edge = (x0 <= 0) | (y0 <= 0) | (x0 + w >= iw) | (y0 + h >= ih)
    piece_boxes = np.stack([x0, y0, x0 + w, y0 + h], 1)
    flat = ~tall & (w > 1.2 * height)
    flat &= ~_caps(piece_boxes, flat, tall, height)
    other = (h > TALLEST * height) | (edge & (w > TALLEST * height)) | flat
    other |= (side >= 0.5 * height) & (area <= HAIR * stroke * side)
    other |= _pale(inkmap)[labels] & (area <= PALE_WIDTH * stroke * side)
    comp = np.flatnonzero(~speck & ~other)
    if len(comp) == 0:
        return Layout([], None, inkmap, removed)
    unit = _units(piece_boxes[comp], height)  # each kept piece's unit
    boxes = np.zeros((unit.max(initial=-1) + 1, 4))
    boxes[:, :2], boxes[:, 2:] = np.inf, -np.inf
    for k in range(2):
        np.minimum.at(boxes[:, k], unit, (x0, y0)[k][comp])
        np.maximum.at(boxes[:, k + 2], unit, (x0 + w, y0 + h)[k][comp])
    body = (boxes[:, 3] - boxes[:, 1] >= BODY * height) & (np.max(boxes[:, 2:] - boxes[:, :2], 1) >= MIN_SIDE_PX)
    if not body.any():
        return Layout([], None, inkmap, removed)
    idx = np.flatnonzero(body)
    first = _direction(boxes[idx])  # a turned page: lines run this way, short ones too
    chains = _chains(boxes[idx], first)
    slope = _page_slope(chains, boxes[idx], first)
    if slope != first:
        chains = _chains(boxes[idx], slope)
    chains = [idx[c] for c in _join(chains, boxes[idx], slope)]
    lines = _attach(chains, np.flatnonzero(~body), boxes, slope)
    spans = [(_fit(boxes[line], slope), _union(boxes[line])) for line in lines]
    order = sorted(range(len(lines)), key=functools.cmp_to_key(lambda a, b: _above(spans[a], spans[b])))
    lines = _merge_stacked([lines[k] for k in order], boxes, body, slope)
    # a photo turns the digits with their lines (a writer's rising line leaves them upright: a few
    # digits tell the one from the other no better than their centres tell the slope)
    turn = float(np.degrees(np.arctan(slope)))
    turn = turn if abs(turn) >= TURNED and body.sum() >= TURNED_PIECES else 0.0
    along = gaps.extents_along(inkmap, labels[comp], unit, len(boxes), slope) if turn else None
    rows = [_row(members, boxes, body, slope, along) for members in lines]
    far = np.zeros(inkmap.count + 1, bool)  # a frame or a grid's thick lines, too thick to be removed as printed lines
    far[labels[h > TALLEST * height]] = True
    printed = None  # where printed walls may stand: what cleaning took for paper, and those
    if "rules" in removed or far.any():
        printed = (raw.mask & ~inkmap.mask) | far[inkmap.labels]
    breaks = gaps.number_breaks(rows, boxes, printed, stroke)
    lines = [np.split(row[0], np.flatnonzero(cut) + 1) for row, cut in zip(rows, breaks)]
    out = []
    for groups, row in zip(lines, rows):
        regions = [Region(labels[comp[np.isin(unit, g)]], _union(boxes[g])) for g in groups]
        out.append(Line(regions, _union(boxes[row[0]]), row[2], _fit(boxes[row[0][body[row[0]]]], slope)[1]))
    return Layout(out, _union(np.array([ln.box for ln in out])), inkmap, removed, turn)


def _pale(inkmap: InkMap) -> np.ndarray:
    """Which components (a bool per label) hold ink far paler than the page's pen: their mean soft ink
    under ``PALE`` times the median of all stroke pixels (one pen writes a page's digits alike), or even
    their darkest under ``PALE_CORE`` times it (the edge of a sheet on a desk, turned, broken in slivers)."""
    labels, ink = inkmap.labels[inkmap.mask], inkmap.ink[inkmap.mask]
    if not len(ink):
        return np.zeros(inkmap.count + 1, bool)
    mean = np.bincount(labels, weights=ink, minlength=inkmap.count + 1) / np.maximum(inkmap.stats[:, 4], 1)
    core = np.zeros(inkmap.count + 1, np.float32)
    np.maximum.at(core, labels, ink)
    pen = float(np.median(ink))
    pale = (mean < PALE * pen) | (core < PALE_CORE * pen)
    pale[0] = False
    return pale


def restrict(inkmap: InkMap, labels) -> InkMap:
    """A copy of ``inkmap`` holding only the components ``labels``, renumbered 1..k in their order
    (``stats`` row j+1 is ``labels[j]``'s): what :func:`segment.segment` reads for one line or number."""
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    new = np.zeros(inkmap.count + 1, np.int32)
    new[labels] = np.arange(1, len(labels) + 1, dtype=np.int32)
    new[0] = 0
    out_labels = np.zeros_like(inkmap.labels)
    ink = np.zeros_like(inkmap.ink)
    if len(labels):  # only the components' box is touched: a line is a small part of a page
        st = inkmap.stats[labels]
        x0, y0 = max(0, int(st[:, 0].min()) - 1), max(0, int(st[:, 1].min()) - 1)
        x1, y1 = int((st[:, 0] + st[:, 2]).max()) + 1, int((st[:, 1] + st[:, 3]).max()) + 1
        part = new[inkmap.labels[y0:y1, x0:x1]]
        out_labels[y0:y1, x0:x1] = part
        near = cv2.dilate((part > 0).view(np.uint8), np.ones((3, 3), np.uint8)).view(bool)  # the anti-aliased rim
        ink[y0:y1, x0:x1] = np.where(near, inkmap.ink[y0:y1, x0:x1], np.float32(0))
    stats = np.concatenate([inkmap.stats[:1], inkmap.stats[labels]]).astype(np.int32)
    return replace(inkmap, ink=ink, mask=out_labels > 0, labels=out_labels, stats=stats)


def _caps(boxes: np.ndarray, flat: np.ndarray, tall: np.ndarray, height: float) -> np.ndarray:
    """Which ``flat`` pieces lie on top of a ``tall`` one as a unit with it (see :func:`_units`): the bar of
    a 5 or a 7 drawn apart, long when the page is turned. A dash or an underline lies beside or under them."""
    out = np.zeros(len(boxes), bool)
    for k in np.flatnonzero(flat):
        x0, y0, x1, y1 = boxes[k]
        over = np.minimum(x1, boxes[:, 2]) - np.maximum(x0, boxes[:, 0])
        out[k] = (tall & (over >= 0.5 * (boxes[:, 2] - boxes[:, 0])) & (boxes[:, 1] - y1 <= 0.3 * height)
                  & ((y0 + y1) / 2 < boxes[:, 1]) & (boxes[:, 3] - y0 <= 1.3 * height)).any()
    return out


def _units(boxes: np.ndarray, height: float) -> np.ndarray:
    """Each piece's unit (0..k-1): pieces stacked over each other, close and no taller together than a
    digit (a digit broken across, the bar of a 5 over its body), are one unit."""
    x0, y0, x1, y1 = boxes.T
    over = np.minimum(x1[:, None], x1[None]) - np.maximum(x0[:, None], x0[None])
    apart = np.maximum(y0[:, None], y0[None]) - np.minimum(y1[:, None], y1[None])
    span = np.maximum(y1[:, None], y1[None]) - np.minimum(y0[:, None], y0[None])
    link = (over >= 0.5 * np.minimum(x1 - x0, (x1 - x0)[:, None])) & (apart <= 0.3 * height) & (span <= 1.3 * height)
    unit = np.arange(len(boxes))
    while True:  # connected components: the smallest index reachable, by label propagation
        new = np.minimum(unit, np.where(link, unit[None], len(unit)).min(1))[unit]
        if np.array_equal(new, unit):
            return np.unique(unit, return_inverse=True)[1]
        unit = new


def _chains(boxes: np.ndarray, slope: float) -> list[np.ndarray]:
    """Pieces chained left to right: each linked to its best right neighbour if it is that one's best
    left; vertical offsets are measured from the page's ``slope``."""
    x0, y0, x1, y1 = boxes.T
    (cx, cy), w, h = _centres(boxes), x1 - x0, y1 - y0
    gap = x0[None] - x1[:, None]  # [i, j]: from i's right edge to j's left edge
    dy = np.abs(cy[None] - cy[:, None] - slope * (cx[None] - cx[:, None]))
    hh = (h[None] + h[:, None]) / 2
    ok = (cx[None] > cx[:, None]) & (gap > -0.5 * np.minimum(w[None], w[:, None])) & (gap < REACH * hh)
    ok &= dy <= ALIGN * hh + np.where(gap <= NEAR * hh, SLOPE * np.maximum(gap, 0), 0)  # farther: _join's to judge
    cost = np.where(ok, np.maximum(gap, 0) + WEIGHT * dy, np.inf)
    return _links(cost)


def _links(cost: np.ndarray) -> list[np.ndarray]:
    """Chains of mutual best links in a (from, to) cost matrix (inf: no link), each in link order."""
    n = len(cost)
    right, left = cost.argmin(1), cost.argmin(0)
    linked = np.isfinite(cost[np.arange(n), right]) & (left[right] == np.arange(n))
    nxt = np.where(linked, right, -1)
    has_prev = np.zeros(n, bool)
    has_prev[nxt[nxt >= 0]] = True
    chains = []
    for start in np.flatnonzero(~has_prev):
        chain = [start]
        while nxt[chain[-1]] >= 0:
            chain.append(nxt[chain[-1]])
        chains.append(np.array(chain))
    return chains


def _fit(boxes: np.ndarray, slope: float = 0.0) -> tuple[float, float, float]:
    """A line's centreline through its pieces' centres (intercept, slope) and its digit height; a line
    too short to tell keeps the page's ``slope``."""
    (cx, cy), h = _centres(boxes), boxes[:, 3] - boxes[:, 1]
    height = float(np.median(h[h >= 0.5 * h.max()]))
    if np.ptp(cx) > 2 * height and len(cx) >= 3:
        slope = float(np.clip(np.polyfit(cx, cy, 1)[0], -STEEPEST, STEEPEST))
    return float(np.median(cy - slope * cx)), slope, height


def _direction(boxes: np.ndarray) -> float:
    """The lines' first guess slope: the median slope from each piece to its nearest neighbour on the
    right, within 45 degrees (neighbours on a line are closer than neighbours across lines)."""
    cx, cy = _centres(boxes)
    dx, dy = cx[None] - cx[:, None], cy[None] - cy[:, None]
    d = np.hypot(dx, dy)
    # a neighbour farther than a number's digits are apart may be on the next line (a wide gap before it)
    d = np.where((dx > 0) & (np.abs(dy) <= dx) & (d <= NEIGHBOUR * np.median(boxes[:, 3] - boxes[:, 1])), d, np.inf)
    j = d.argmin(1)
    has = np.isfinite(d[np.arange(len(d)), j])
    if has.sum() < 2:
        return 0.0
    return float(np.median(dy[has, j[has]] / dx[has, j[has]]))


def _page_slope(chains: list[np.ndarray], boxes: np.ndarray, first: float) -> float:
    """The page's slope: the median of its longer lines' slopes, weighted by their pieces; ``first``
    if there are none."""
    fits = [(_fit(boxes[c], first)[1], len(c)) for c in chains if len(c) >= 3] or [(first, 1)]
    slopes, weights = np.array(fits).T
    order = np.argsort(slopes)
    return float(slopes[order][np.searchsorted(np.cumsum(weights[order]), weights.sum() / 2)])


def _join(chains: list[np.ndarray], boxes: np.ndarray, slope: float) -> list[np.ndarray]:
    """Join chains that continue each other (a line broken at a wide gap or a stacked piece): mutual
    best pairs, where one's end lies on the other's centreline."""
    while len(chains) > 1:
        at, tilt, height = np.array([_fit(boxes[c], slope) for c in chains]).T
        (fx, fy), (lx, ly) = (_centres(np.array([boxes[c[k]] for c in chains])) for k in (0, -1))
        run = np.array([np.ptp(_centres(boxes[c])[0]) for c in chains])
        gap = np.array([boxes[c, 0].min() for c in chains])[None] - np.array([boxes[c, 2].max() for c in chains])[:, None]
        hh = (height[None] + height[:, None]) / 2  # [a, b]: from a's end to b's start
        dx = fx[None] - lx[:, None]
        # a chain's own direction is trusted as far as it runs, the page's beyond (a short chain's tilt
        # carried across a page lands on any line)
        own_a, own_b = np.clip(dx, 0, run[:, None]), np.clip(dx, 0, run[None])
        ahead = at[:, None] + tilt[:, None] * (lx[:, None] + own_a) + slope * (dx - own_a)  # a's line at b's start
        behind = at[None] + tilt[None] * (fx[None] - own_b) - slope * (dx - own_b)  # b's line at a's end
        off = np.minimum(np.abs(fy[None] - ahead), np.abs(ly[:, None] - behind))
        ok = (gap >= -0.5 * hh) & (gap <= REACH * hh) & (off <= ALIGN * hh) & ~np.eye(len(chains), dtype=bool)
        merged = _links(np.where(ok, np.maximum(gap, 0) + WEIGHT * off, np.inf))
        if len(merged) == len(chains):
            break
        chains = [np.concatenate([chains[k] for k in m]) for m in merged]
    return chains


def _centres(boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2


def _attach(chains: list[np.ndarray], small: np.ndarray, boxes: np.ndarray, slope: float) -> list[np.ndarray]:
    """Short chains and small pieces join the longest line whose band holds most of their height."""
    chains = sorted(chains, key=lambda c: -(boxes[c, 2].max() - boxes[c, 0].min()))
    lines = []
    spans, fits = np.zeros((len(chains), 4)), np.zeros((len(chains), 3))  # each line's box (as parts join) and fit
    for k_chain, part in enumerate([*chains, *([k] for k in small)]):
        part = np.asarray(part)
        b = _union(boxes[part])
        n = len(lines)
        best = _best_line(b, spans[:n], fits[:n]) if n else -1
        if best >= 0:
            lines[best] = np.concatenate([lines[best], part])
            spans[best] = _union(np.array([spans[best], b]))
        elif k_chain < len(chains):  # a piece too small to be a digit makes no line of its own
            lines.append(part)
            spans[n], fits[n] = b, _fit(boxes[part], slope)
    return lines


def _best_line(b: Box, spans: np.ndarray, fits: np.ndarray) -> int:
    """The first of the lines (boxes ``spans``, ``fits``) whose band holds most, and over half, of box ``b``'s
    height, among those whose x-range (half a height wider) holds its centre; -1 if none."""
    cx = (b[0] + b[2]) / 2
    at, tilt, height = fits.T
    near = (cx >= spans[:, 0] - 0.5 * height) & (cx <= spans[:, 2] + 0.5 * height)
    mid = at + tilt * cx
    inside = np.minimum(b[3], mid + 0.6 * height) - np.maximum(b[1], mid - 0.6 * height)
    share = np.where(near, inside / max(1, b[3] - b[1]), -np.inf)
    k = int(np.argmax(share))
    return k if share[k] > 0.5 else -1


def stacked(a: Box, b: Box) -> bool:
    """Whether boxes ``a`` and ``b`` share at least half the narrower one's x-range (one over the other)."""
    return min(a[2], b[2]) - max(a[0], b[0]) >= 0.5 * min(a[2] - a[0], b[2] - b[0])


def _merge_stacked(lines: list[np.ndarray], boxes: np.ndarray, body: np.ndarray, slope: float) -> list[np.ndarray]:
    """Merge a line into the next when it is only the broken-off part of the other's digits: it lies
    within the other's x-range, nearly touching it, and both together are hardly taller than the
    taller one (the bowl of a 5 under its bar, the foot of a 2). Two real lines are each a digit tall
    and a gap apart: together they are twice as tall."""
    k = 0
    while k + 1 < len(lines):
        a, b = _union(boxes[lines[k]]), _union(boxes[lines[k + 1]])
        ha, hb = (_fit(boxes[m[body[m]]] if body[m].any() else boxes[m], slope)[2] for m in lines[k : k + 2])
        gap = max(a[1], b[1]) - min(a[3], b[3])
        alone = len(lines[k]) == len(lines[k + 1]) == 1
        if stacked(a, b) and gap <= TOUCH * min(ha, hb) \
                and (max(a[3], b[3]) - min(a[1], b[1]) <= CAP * max(ha, hb) or alone and gap <= TIGHT * min(ha, hb)):
            lines[k : k + 2] = [np.concatenate(lines[k : k + 2])]
        else:
            k += 1
    return lines


def _above(a, b) -> int:
    """Reading order of two lines, each (fit, box): compared where both run, else by their centres."""
    (fa, ba), (fb, bb) = a, b
    lo, hi = max(ba[0], bb[0]), min(ba[2], bb[2])
    x = (lo + hi) / 2 if hi > lo else (ba[0] + ba[2] + bb[0] + bb[2]) / 4
    ya, yb = fa[0] + fa[1] * x, fb[0] + fb[1] * x
    return -1 if ya < yb else 1 if ya > yb else 0


def _row(members: np.ndarray, boxes: np.ndarray, body: np.ndarray, slope: float, along: np.ndarray | None = None):
    """A line's pieces left to right, the x-interval of each gap between them, and its digit height;
    on a turned page (``along``: each unit's extent along the lines) the intervals are along the line.

    Smaller pieces count: the fragments of a broken digit leave no gap."""
    span = boxes[:, [0, 2]] if along is None else along
    order = members[np.argsort(span[members, 0], kind="stable")]
    x1 = np.maximum.accumulate(span[order, 1])  # a piece inside another's x-range leaves no gap
    return order, np.stack([x1[:-1], span[order[1:], 0]], 1), _fit(boxes[members[body[members]]], slope)[2]


def _union(boxes: np.ndarray) -> Box:
    b = np.asarray(boxes).reshape(-1, 4)
    return int(b[:, 0].min()), int(b[:, 1].min()), int(b[:, 2].max()), int(b[:, 3].max())
