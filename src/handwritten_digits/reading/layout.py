"""Stage 2b, layout: an :class:`InkMap` -> its lines of text, top to bottom, and the numbers on each.

Works on the ink's connected components (their stats, a few whole-image morphology passes):

* paper is cleaned first: long straight runs of ink (ruled or squared paper, table borders, a page
  edge) and ink far thicker than a stroke (a shadow, a stain, the desk around a note) are removed,
  strokes that cross a printed line kept, and the components renumbered (:attr:`Layout.inkmap`);
* specks are ignored (segment's rule, measured against the page's typical digit, not its largest piece);
* components of digit height are chained into lines: each is linked to its best right neighbour when
  that one's best left neighbour is it (a slanted or curved line follows its own direction); chains
  that continue each other are joined the same way;
* pieces stacked over a digit (a broken stroke, the bar of a 5) and smaller fragments join the line
  whose band they overlap most; what joins no line is dropped;
* a gap clearly wider than the line's digit spacing, or wider than ``APART`` heights, separates two
  numbers; so does a gap that lines up with gaps in the lines above and below (the columns of a table).

Work is bounded: at most ``MAX_COMPONENTS`` components (the largest) are considered.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import cv2
import numpy as np

from handwritten_digits.reading.ink import InkMap, distance

MIN_SIDE_PX = 6  # segment's: a digit spans at least this many working pixels
SPECK_SIDE, SPECK_AREA = 0.25, 0.03  # segment's speck fractions, here of the typical digit's height and area
MAX_COMPONENTS = 2000  # the largest components considered: bounds the pairwise work
TALLEST = 3.0  # a piece more than this many digit heights tall is no digit (a page edge, a frame)
HAIR = 0.6  # a piece a digit height long or more, and this thin (area / length, in stroke widths), is a hairline
BODY = 0.45  # a piece this much of the typical digit height or taller makes lines; smaller ones join them
RULE = 3.0  # a straight run of ink this many digit heights long is a printed line, not a digit
BLOB = 1.5  # ink this many stroke widths deep (and a tenth of a digit) is a shadow or stain if ...
STRONG = 0.4  # soft ink at least this dark is a pen's (ink's hysteresis: strong pixels start near 0.44)
FAINT = 0.7  # ... fainter than this (soft ink; a pen's strokes are near 1) or ...
FAT = 0.3  # ... this many digit heights deep: no stroke is that thick
ALIGN = 0.5  # neighbours on a line: centres within this many heights vertically ...
SLOPE = float(np.tan(np.radians(16)))  # ... plus this much per pixel of gap (slanted lines)
REACH = 12.0  # ... and gaps of at most this many heights
WEIGHT = 3.0  # a vertical offset costs this many times a horizontal gap
SOFT = 0.15  # gaps (in line heights) are compared as gap + SOFT: tiny gaps vary a lot
JUMP = 2.0  # a gap this many times the next smaller one ...
WIDE = 0.8  # ... and at least this many heights wide separates two numbers
APART = 1.5  # so does any gap this many heights wide
GUTTER = 0.5  # a strip this wide, empty in 3 lines in a row that each have 2 such, divides table cells

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


def layout(inkmap: InkMap) -> Layout:
    """The lines of text in ``inkmap``, top to bottom, and the numbers on each, left to right."""
    if inkmap.count == 0:
        return Layout([], None, inkmap)
    inkmap, removed, stroke = _clean(inkmap)
    labels = np.arange(1, inkmap.count + 1)
    st = inkmap.stats[1:].astype(np.float64)
    if len(st) > MAX_COMPONENTS:
        top = np.sort(np.argsort(-st[:, 4], kind="stable")[:MAX_COMPONENTS])
        labels, st = labels[top], st[top]
    if len(st) == 0:
        return Layout([], None, inkmap, removed)
    height = _typical_height(st)
    x0, y0, w, h, area = st.T
    side = np.maximum(w, h)
    tall = h >= BODY * height
    ref_area = float(np.median(area[tall])) if tall.any() else float(area.max())
    speck = (side < SPECK_SIDE * height) & (area < SPECK_AREA * ref_area) | (area < 3)
    # not digits: a piece far taller than the digits (a page edge), a long hairline (what is left of a
    # printed line), a long thin piece lying flat
    other = (h > TALLEST * height) | ((side >= height) & (area <= HAIR * stroke * side)) | (~tall & (w > 1.2 * height))
    body = tall & ~speck & ~other & (side >= MIN_SIDE_PX)
    frag = ~tall & ~speck & ~other
    if not body.any():
        return Layout([], None, inkmap, removed)
    boxes = np.stack([x0, y0, x0 + w, y0 + h], 1)
    idx = np.flatnonzero(body)
    chains = _chains(boxes[idx], 0.0)
    slope = _page_slope(chains, boxes[idx])  # a turned page: lines run this way, short ones too
    if slope:
        chains = _chains(boxes[idx], slope)
    chains = [idx[c] for c in _join(chains, boxes[idx], slope)]
    lines = _attach(chains, np.flatnonzero(frag), boxes, slope)
    lines.sort(key=functools.cmp_to_key(lambda a, b: _above(a, b, boxes, slope)))
    rows = [_row(members, boxes, body, slope) for members in lines]
    cuts = _gutters(rows)
    lines = [np.split(row[0], np.flatnonzero(_splits(row[1], row[2]) | cut) + 1) for row, cut in zip(rows, cuts)]
    out = []
    for groups, members in zip(lines, (np.concatenate(g) for g in lines)):
        fit = _fit(boxes[members[body[members]]], slope)
        out.append(Line([Region(labels[g], _union(boxes[g])) for g in groups], _union(boxes[np.concatenate(groups)]), fit[2], fit[1]))
    return Layout(out, _union(np.array([ln.box for ln in out])), inkmap, removed)


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
    return InkMap(ink, out_labels > 0, inkmap.scale, inkmap.shape, out_labels, stats, inkmap.noise)


def _typical_height(stats: np.ndarray) -> float:
    """The page's typical digit height: the area-weighted median height of pieces big enough to be digits."""
    h, area = stats[:, 3].astype(float), stats[:, 4].astype(float)
    ok = (np.maximum(stats[:, 2], h) >= MIN_SIDE_PX) & (area >= 3)
    if not ok.any():
        return float(max(MIN_SIDE_PX, h.max(initial=1)))
    h, area = h[ok], area[ok]
    order = np.argsort(h)
    cum = np.cumsum(area[order])
    return float(h[order][np.searchsorted(cum, cum[-1] / 2)])


def _clean(inkmap: InkMap) -> tuple[InkMap, list[str], float]:
    """Remove printed lines and thick blots (see the module's notes); the same map when there are none.
    Also returns the pen's stroke width."""
    mask, side = inkmap.mask, max(inkmap.mask.shape)
    # the digit height, measured without lines that span half the page (a grid holds every digit it touches)
    rough = _rules(mask, max(8, side // 4), max(3, side // 40) | 1, 3)
    stats = inkmap.stats
    if rough.any():
        stats = cv2.connectedComponentsWithStats((mask & ~rough).view(np.uint8), connectivity=8, ltype=cv2.CV_32S)[2]
    height = _typical_height(stats[1:]) if len(stats) > 1 else float(side)
    height = min(height, side / 4)  # a line must stay long and thin next to the digits
    drop = _rules(mask, max(8, int(RULE * height)), max(3, int(0.3 * height)) | 1, max(1, int(0.15 * height)))
    removed = ["rules"] if drop.any() else []
    rest = mask & ~drop
    dist = distance(rest)
    ridge = rest & (dist >= cv2.dilate(dist, np.ones((3, 3), np.uint8)))
    stroke = 1.0
    if ridge.any():
        # each piece's stroke width, the page's: their median weighted by ink (specks and hairlines count little)
        lab = inkmap.labels[ridge]
        total = np.bincount(lab, weights=dist[ridge], minlength=inkmap.count + 1)[1:]
        width = 2 * total / np.maximum(np.bincount(lab, minlength=inkmap.count + 1)[1:], 1) - 1
        order = np.argsort(width)
        stroke = max(1.0, float(width[order][np.searchsorted(np.cumsum(total[order]), total.sum() / 2)]))
        # faint threads far from any dark stroke: the rest of a printed line that a digit touches
        # (ink keeps faint pixels joined to dark ones), too broken for a straight band
        reach = cv2.dilate((rest & (inkmap.ink >= STRONG)).view(np.uint8), np.ones((2 * int(stroke) + 3,) * 2, np.uint8))
        stray = rest & ~reach.view(bool)
        if stray.any():
            count, lab, st, _ = cv2.connectedComponentsWithStats(stray.view(np.uint8), connectivity=8, ltype=cv2.CV_32S)
            long = np.maximum(st[:, 2], st[:, 3]) >= height
            long[0] = False
            if long.any():
                drop |= long[lab]
                removed.append("threads")
        depth = max(BLOB * stroke, 0.1 * height)
        core = dist > depth
        lab = inkmap.labels[core]
        deep = np.bincount(lab, minlength=inkmap.count + 1)
        faint = np.bincount(lab, weights=inkmap.ink[core], minlength=inkmap.count + 1) < FAINT * deep
        fat = np.bincount(inkmap.labels[dist > FAT * height], minlength=inkmap.count + 1) >= 4
        # a dot of ink where the pen rested is not a blot; a bold stroke is dark, a shadow faint
        blob = (deep >= max(4.0, (0.1 * height) ** 2)) & (faint | fat)
        blob[0] = False
        if blob.any():
            near = cv2.distanceTransform((~(core & blob[inkmap.labels])).view(np.uint8), cv2.DIST_L2, 3)
            drop |= mask & (near <= depth + stroke)
            removed.append("blots")
    if not drop.any():
        return inkmap, [], stroke
    keep = mask & ~drop
    count, labels, stats, _ = cv2.connectedComponentsWithStats(keep.view(np.uint8), connectivity=8, ltype=cv2.CV_32S)
    near = cv2.dilate(keep.view(np.uint8), np.ones((3, 3), np.uint8)).view(bool)
    ink = np.where(near, inkmap.ink, np.float32(0)).astype(np.float32)
    return InkMap(ink, keep, inkmap.scale, inkmap.shape, labels, stats, inkmap.noise), removed, stroke


def _rules(mask: np.ndarray, run: int, k: int, bridge: int) -> np.ndarray:
    """Pixels of printed lines: thin ink along a straight, horizontal or vertical band ``run`` long.

    The ink is first thickened ``k`` pixels across and joined over breaks of ``bridge`` pixels along,
    so a slanted or broken line still makes a long band; in the band, ink that is not thin across
    (a stroke crossing the line, a digit resting on it) is kept, and pieces left wholly next to the
    line (where lines cross, a thicker end) go with it.
    """
    m8, out = mask.view(np.uint8), np.zeros(mask.shape, bool)
    for along, across in (((1, run), (k, 1)), ((run, 1), (1, k))):
        wide = cv2.dilate(m8, np.ones(across, np.uint8))
        wide = cv2.morphologyEx(wide, cv2.MORPH_CLOSE, np.ones((along[0], bridge) if along[0] == 1 else (bridge, 1), np.uint8))
        on = cv2.morphologyEx(wide, cv2.MORPH_OPEN, np.ones(along, np.uint8)).view(bool) & mask
        if not on.any():
            continue
        dist = distance(on)  # the lines' thickness from their ridges (long lines have most ridge pixels)
        ridge = on & (dist >= cv2.dilate(dist, np.ones((3, 3), np.uint8)))
        thin = max(3, int(2 * float(np.median(dist[ridge]))) + 3)
        tall = cv2.morphologyEx(m8, cv2.MORPH_OPEN, np.ones((thin, 1) if along[0] == 1 else (1, thin), np.uint8))
        out |= on & ~tall.view(bool)
    if out.any():
        rest = mask & ~out
        count, labels = cv2.connectedComponents(rest.view(np.uint8), connectivity=8, ltype=cv2.CV_32S)
        near = cv2.dilate(out.view(np.uint8), np.ones((k, k), np.uint8)).view(bool)
        stub = np.bincount(labels[rest & ~near], minlength=count) == 0
        stub[0] = False
        out |= stub[labels]
    return out


def _chains(boxes: np.ndarray, slope: float) -> list[np.ndarray]:
    """Pieces chained left to right: each linked to its best right neighbour if it is that one's best
    left; vertical offsets are measured from the page's ``slope``."""
    x0, y0, x1, y1 = boxes.T
    cx, cy, w, h = (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0
    gap = x0[None] - x1[:, None]  # [i, j]: from i's right edge to j's left edge
    dy = np.abs(cy[None] - cy[:, None] - slope * (cx[None] - cx[:, None]))
    hh = (h[None] + h[:, None]) / 2
    ok = (cx[None] > cx[:, None]) & (gap > -0.5 * np.minimum(w[None], w[:, None])) & (gap < REACH * hh)
    ok &= dy <= ALIGN * hh + SLOPE * np.maximum(gap, 0)
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
    cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
    h = boxes[:, 3] - boxes[:, 1]
    height = float(np.median(h[h >= 0.5 * h.max()]))
    if np.ptp(cx) > 2 * height and len(cx) >= 3:
        slope = float(np.clip(np.polyfit(cx, cy, 1)[0], -2 * SLOPE, 2 * SLOPE))
    return float(np.median(cy - slope * cx)), slope, height


def _page_slope(chains: list[np.ndarray], boxes: np.ndarray) -> float:
    """The page's slope: the median of its longer lines' slopes, weighted by their pieces; 0 if none."""
    fits = [(_fit(boxes[c])[1], len(c)) for c in chains if len(c) >= 3]
    fits = [f for f in fits if f[0]] or [(0.0, 1)]
    slopes, weights = np.array(fits).T
    order = np.argsort(slopes)
    return float(slopes[order][np.searchsorted(np.cumsum(weights[order]), weights.sum() / 2)])


def _join(chains: list[np.ndarray], boxes: np.ndarray, slope: float) -> list[np.ndarray]:
    """Join chains that continue each other (a line broken at a wide gap or a stacked piece)."""
    while len(chains) > 1:
        fits = [_fit(boxes[c], slope) for c in chains]
        ends = np.array([[boxes[c, 0].min(), boxes[c, 2].max()] for c in chains])
        n = len(chains)
        cost = np.full((n, n), np.inf)
        for a in range(n):
            for b in range(n):
                gap = ends[b, 0] - ends[a, 1]
                hh = (fits[a][2] + fits[b][2]) / 2
                if a == b or gap < -0.5 * hh or gap > REACH * hh:
                    continue
                first, last = boxes[chains[b][0]], boxes[chains[a][-1]]
                fx, fy = (first[0] + first[2]) / 2, (first[1] + first[3]) / 2
                lx, ly = (last[0] + last[2]) / 2, (last[1] + last[3]) / 2
                off = min(abs(fy - fits[a][0] - fits[a][1] * fx), abs(ly - fits[b][0] - fits[b][1] * lx))
                if off <= ALIGN * hh:
                    cost[a, b] = max(gap, 0) + WEIGHT * off
        if not np.isfinite(cost).any():
            break
        merged = _links(cost)
        if len(merged) == n:
            break
        chains = [np.concatenate([chains[k] for k in m]) for m in merged]
    return chains


def _attach(chains: list[np.ndarray], small: np.ndarray, boxes: np.ndarray, slope: float) -> list[np.ndarray]:
    """Short chains and small pieces join the longest line whose band holds most of their height."""
    chains = sorted(chains, key=lambda c: -(boxes[c, 2].max() - boxes[c, 0].min()))
    lines, fits = [], []
    for k_chain, part in enumerate([*chains, *([k] for k in small)]):
        part = np.asarray(part)
        b = _union(boxes[part])
        cx = (b[0] + b[2]) / 2
        best, share = -1, 0.5
        for k, (line, (at, slope, height)) in enumerate(zip(lines, fits)):
            lb = _union(boxes[line])
            if cx < lb[0] - 0.5 * height or cx > lb[2] + 0.5 * height:
                continue
            mid = at + slope * cx
            inside = min(b[3], mid + 0.6 * height) - max(b[1], mid - 0.6 * height)
            if inside / max(1, b[3] - b[1]) > share:
                best, share = k, inside / max(1, b[3] - b[1])
        if best >= 0:
            lines[best] = np.concatenate([lines[best], part])
        elif k_chain < len(chains):  # a piece too small to be a digit makes no line of its own
            lines.append(part)
            fits.append(_fit(boxes[part], slope))
    return lines


def _above(a: np.ndarray, b: np.ndarray, boxes: np.ndarray, slope: float) -> int:
    """Reading order of two lines: compared where both run, else by their centres."""
    fa, fb = _fit(boxes[a], slope), _fit(boxes[b], slope)
    ba, bb = _union(boxes[a]), _union(boxes[b])
    lo, hi = max(ba[0], bb[0]), min(ba[2], bb[2])
    x = (lo + hi) / 2 if hi > lo else (ba[0] + ba[2] + bb[0] + bb[2]) / 4
    ya, yb = fa[0] + fa[1] * x, fb[0] + fb[1] * x
    return -1 if ya < yb else 1 if ya > yb else 0


def _row(members: np.ndarray, boxes: np.ndarray, body: np.ndarray, slope: float):
    """A line's pieces left to right, the x-interval of each gap between them, and its digit height.

    Smaller pieces count: the fragments of a broken digit leave no gap."""
    order = members[np.argsort(boxes[members, 0], kind="stable")]
    x1 = np.maximum.accumulate(boxes[order, 2])  # a piece inside another's x-range leaves no gap
    return order, np.stack([x1[:-1], boxes[order[1:], 0]], 1), _fit(boxes[members[body[members]]], slope)[2]


def _splits(gaps: np.ndarray, height: float) -> np.ndarray:
    """Which gaps separate two numbers: clearly wider than the line's digit spacing, or very wide."""
    g = (gaps[:, 1] - gaps[:, 0]) / height
    split = g >= APART
    real = np.sort(g[g > 0])
    if len(real) >= 2:
        ratio = (real[1:] + SOFT) / (real[:-1] + SOFT)
        ratio[real[1:] < WIDE] = 0
        k = int(ratio.argmax())
        if ratio[k] >= JUMP:
            split |= g >= real[k + 1]
    return split


def _gutters(rows: list) -> list[np.ndarray]:
    """Which gaps are columns of a table: wide gaps that share a strip with gaps of the lines next to them
    (three lines in a row), in lines with at least two."""
    cut = [np.zeros(len(r[1]), bool) for r in rows]
    for k in range(len(rows) - 2):
        trio = rows[k : k + 3]
        for j, (_, gaps, height) in enumerate(trio):
            for g in np.flatnonzero(gaps[:, 1] - gaps[:, 0] >= GUTTER * height):
                lo, hi = gaps[g]
                for i, (_, other, other_height) in enumerate(trio):
                    if i == j:
                        continue
                    inter = np.minimum(other[:, 1], hi) - np.maximum(other[:, 0], lo)
                    m = int(inter.argmax()) if len(inter) else -1
                    if m < 0 or inter[m] < GUTTER * min(height, other_height):
                        break
                    lo, hi = max(lo, other[m, 0]), min(hi, other[m, 1])
                else:
                    cut[k + j][g] = True
    # a table's lines have gutters at most of their wide gaps; text lines at a chance one or two
    wide = [r[1][:, 1] - r[1][:, 0] >= GUTTER * r[2] for r in rows]
    return [c if c.sum() >= max(2, 0.6 * w.sum()) else np.zeros_like(c) for c, w in zip(cut, wide)]


def _union(boxes: np.ndarray) -> Box:
    b = np.asarray(boxes).reshape(-1, 4)
    return int(b[:, 0].min()), int(b[:, 1].min()), int(b[:, 2].max()), int(b[:, 3].max())
