"""Part of the layout stage: what on a page is paper, not ink.

Printed lines (ruled or squared paper, table borders, a page edge) are long straight runs of ink, the
walls between a form's boxes short upright ones in a row between two of them, and the edges of the box
an image was cropped from long pieces lying along the image's edge; a shadow, a stain or the desk
around a note is ink far thicker than a pen's stroke; show-through joined to a digit is faint ink far
from any dark stroke, and so, with it, the pale rest of ink mostly that faint (the desk along a sheet's
edge). :func:`clean` removes them all, keeps the strokes that cross a printed line (and those
along a line printed fainter than the pen, even a thin digit fine squares have cut to pieces), and
renumbers the components. Printed lines are looked for along the sheet's own slope (:mod:`.rules`):
a photo turns them with the sheet; a line alone, one long thin straight piece, at any slope.
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from handwritten_digits.reading.ink import InkMap, distance, stroke_width
from handwritten_digits.reading.rules import lone_lines, paper_slope, rules_along, with_stubs

MIN_SIDE_PX = 6  # segment's: a digit spans at least this many working pixels
TALLEST = 3.0  # a piece more than this many digit heights tall is no digit (a page edge, a frame)
HAIR = 0.35  # a piece half a digit height long or more, and this thin (area / length, in stroke widths), is a hairline
RULE = 3.0  # a straight run of ink this many digit heights long is a printed line, not a digit
LONE_THIN = 0.2  # (a piece that long at any slope, no thicker than this many digit heights, is one alone)
BLOB = 1.5  # ink this many stroke widths deep (and a tenth of a digit) is a shadow or stain if ...
STRONG = 0.4  # soft ink at least this dark is a pen's (ink's hysteresis: strong pixels start near 0.44)
FAINT = 0.7  # ... fainter than this (soft ink; a pen's strokes are near 1) or ...
FAT = 0.3  # ... this many digit heights deep: no stroke is that thick
HALO, HALO_PEN = 0.5, 0.6  # what is left of a piece mostly faint, its mean ink under this share of the pen's, is faint too
PRINTED = 0.5  # a piece with this share of its ink on printed lines measures no digit height
PEERS = 0.05  # pieces with less than this share of a piece's ink do not measure it
ALONE = 4.0  # a printed line that holds all the ink must be this many times longer still (a frame, not a long 1) ...
SHEET = 5.0  # ... unless it holds this many lines of its length (a frame has four sides, a sheet more lines)
PEN_OVER_RULE = 0.2  # a printed line this much fainter than the pen's median ink gives back the strokes along it
# (soft ink saturates at the pen: a dark gray grid under a black pen measures only about 0.22 fainter) ...
RULE_SPREAD = 95  # ... where they are darker than this percentile of the line's ink
LINE_MADS = 3.0  # ... or than this many robust deviations above its median, if lower (pen along lines lifts the percentile)
ALONG = 2.0  # ... in runs no longer than this many digit heights (measured on digits a fine grid has cut: short)
EATEN = 0.8  # ... that touch other ink, or half a digit long and this dark (of the pen's median): a digit the grid ate
EATEN_OVER_RULE = 0.4  # (there, the line must be this much fainter than the pen: nothing else tells them apart)
LINE_GAP = 0.5  # a thin straight piece continued by a removed printed line within this many digit heights is part of it
WALL = 0.6  # a straight upright run this many digit heights long, from one removed printed line to another, ...
WALLS = 3  # ... with as many others between the same two lines, is a wall of a row of boxes (a form's comb)
WALL_INK = 0.8  # ... inked along a straight line over this share of its height (print breaks a little; a grid's
# leftover bits, a lot), a quarter of it no wider than the print
BOX_WIDTH = (0.6, 3.0)  # walls of one row of boxes are this many digit heights apart (a box holds a digit)
EDGE = 0.15  # a piece of ink within this many digit heights of the image's edge ...
EDGE_OUT = 0.05  # ... all but this share of it ...
EDGE_RUN = 1.2  # ... and this many digit heights long, is the edge of the box the image was cropped from
EDGE_THIN = 0.25  # (so are pieces on the edge no thicker than this many digit heights, as long together)
FEW = 3.0  # no piece weighs more than this many typical pieces in the page's digit height
LARGER = 1.5  # a blot is this many times larger than the other pieces' typical height (a bold digit is not)


def typical_height(stats: np.ndarray) -> float:
    """The page's typical digit height: the median height of pieces big enough to be digits, weighted by
    the root of their ink (specks count little, and a desk or a frame no more than a few digits)."""
    h, area = stats[:, 3].astype(float), stats[:, 4].astype(float)
    ok = (np.maximum(stats[:, 2], h) >= MIN_SIDE_PX) & (area >= 3)
    if not ok.any():
        return float(max(MIN_SIDE_PX, h.max(initial=1)))
    h, weight = h[ok], np.sqrt(area[ok])
    weight = np.minimum(weight, FEW * float(np.median(weight)))  # one desk weighs no more than a few digits
    order = np.argsort(h)
    cum = np.cumsum(weight[order])
    return float(h[order][np.searchsorted(cum, cum[-1] / 2)])


def clean(inkmap: InkMap) -> tuple[InkMap, list[str], float]:
    """Remove printed lines and thick blots (see the module's notes); the same map when there are none.
    Also returns the pen's stroke width."""
    mask, side = inkmap.mask, max(inkmap.mask.shape)
    # the digit height, measured without lines that span half the page (a grid holds every digit it touches)
    extent = np.maximum(inkmap.stats[1:, 2], inkmap.stats[1:, 3])
    slope, rough = 0.0, None
    if (extent >= side // 4).any():  # printed lines photographed turned are looked for along their own slope
        slope = paper_slope(mask, inkmap.labels, inkmap.stats, side // 4)
        rough = rules_along(mask, slope, max(8, side // 4), max(3, side // 40) | 1, 3)
    stats = inkmap.stats
    if rough is not None and rough.any():
        stats = cv2.connectedComponentsWithStats((mask & ~rough).view(np.uint8), connectivity=8, ltype=cv2.CV_32S)[2]
    height = typical_height(stats[1:]) if len(stats) > 1 else float(side)
    height = min(height, side / 4)  # a line must stay long and thin next to the digits
    run = max(8, int(RULE * height))  # (a printed line broken in pieces shorter than a quarter of it is left)
    drop = np.zeros(mask.shape, bool)
    if (extent >= run // 4).any():
        drop = rules_along(mask, slope, run, max(3, int(0.3 * height)) | 1, max(1, int(0.15 * height)))
    if drop.any():
        drop &= _paper_sized(inkmap, np.unique(inkmap.labels[drop]), RULE, marked=drop, alone=ALONE)[inkmap.labels]
        drop &= ~_pen_along(inkmap, drop, height)
        drop |= _line_pieces(mask & ~drop, drop, height)
        drop |= _walls(mask & ~drop, drop, height)
    drop |= lone_lines(inkmap.labels, inkmap.stats, RULE * height, LONE_THIN * height)[inkmap.labels]
    drop |= _frame(inkmap, height)
    removed = ["rules"] if drop.any() else []
    rest = mask & ~drop
    dist = distance(rest)
    ridge = rest & (dist >= cv2.dilate(dist, np.ones((3, 3), np.uint8)))
    stroke = 1.0
    if ridge.any():
        # each piece's stroke width, the page's: their median weighted by ink (specks and hairlines count
        # little), of pieces no bigger than a few digits (not a desk or a frame)
        lab = inkmap.labels[ridge]
        total = np.bincount(lab, weights=dist[ridge], minlength=inkmap.count + 1)[1:]
        extent = np.maximum(inkmap.stats[1:, 2], inkmap.stats[1:, 3])
        if (total * (extent <= TALLEST * height)).sum() > 0:
            total = total * (extent <= TALLEST * height)
        width = 2 * total / np.maximum(np.bincount(lab, minlength=inkmap.count + 1)[1:], 1) - 1
        order = np.argsort(width)
        stroke = max(1.0, float(width[order][np.searchsorted(np.cumsum(total[order]), total.sum() / 2)]))
        # faint ink beyond a stroke's reach of any dark ink is paper: show-through or shade joined to a
        # digit, the rest of a printed line a digit touches (ink's hysteresis keeps faint pixels joined
        # to dark ones; faint ink apart from them it drops already). A pen's stroke is dark along its length.
        reach = cv2.dilate((rest & (inkmap.ink >= STRONG)).view(np.uint8), np.ones((int(stroke) + 3,) * 2, np.uint8))
        stray = rest & ~reach.view(bool)
        if stray.any():
            stray |= _halo(inkmap, rest, stray)
            drop |= stray
            removed.append("faint")
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
            blob &= _paper_sized(inkmap, np.flatnonzero(blob), LARGER)
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
    return replace(inkmap, ink=ink, mask=keep, labels=labels, stats=stats), removed, stroke


def _halo(inkmap: InkMap, rest: np.ndarray, stray: np.ndarray) -> np.ndarray:
    """The rest of pieces mostly ``stray`` (faint ink, ``HALO`` of their pixels), each part of it no darker
    than ``HALO_PEN`` of the pen: the desk beside a sheet's edge reads as ink near the bright sheet, strongest
    at its corners, and no pen's stroke there is that pale."""
    count = inkmap.count + 1
    lost = np.bincount(inkmap.labels[stray], minlength=count) >= HALO * np.maximum(inkmap.stats[:, 4], 1)
    lost[0] = False
    left = rest & ~stray & lost[inkmap.labels]
    if not left.any():
        return left
    others = rest & ~stray & ~left
    if not others.any():
        return np.zeros_like(left)
    pen = float(np.median(inkmap.ink[others]))
    n, parts = cv2.connectedComponents(left.view(np.uint8), connectivity=8, ltype=cv2.CV_32S)
    own = parts[left]
    mean = np.bincount(own, weights=inkmap.ink[left], minlength=n) / np.maximum(np.bincount(own, minlength=n), 1)
    return left & (mean < HALO_PEN * pen)[parts]


def _pen_along(inkmap: InkMap, rule: np.ndarray, height: float) -> np.ndarray:
    """Pen strokes that lie along a printed line (the base of a 2 on a ruled line): where the line is
    clearly fainter than the pen, its pixels darker than both the midway level and nearly all of the
    line itself (light varies along a line), in runs no longer than ``ALONG`` digits that touch other ink, or
    that are a thin digit the lines have eaten whole (half a digit long, as dark as the pen, the lines far
    fainter)."""
    keep = np.zeros(rule.shape, bool)
    if not rule.any():
        return keep
    other = inkmap.mask & ~rule
    # the pen's ink is measured on pieces no bigger than a few digits once the lines are gone (a shadow
    # is faint, and large)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(other.view(np.uint8), connectivity=8, ltype=cv2.CV_32S)
    small = np.maximum(stats[:, 2], stats[:, 3]) <= TALLEST * height
    small[0] = False
    pen = inkmap.ink[small[labels]]
    if pen.size == 0:
        return keep
    ink, dark = inkmap.ink[rule], float(np.median(pen))
    line, top = np.percentile(ink, [50, RULE_SPREAD])
    if dark - line < PEN_OVER_RULE:
        return keep  # a line printed as dark as the pen: nothing tells them apart
    spread = line + LINE_MADS * 1.4826 * float(np.median(np.abs(ink - line)))
    along = rule & (inkmap.ink >= max((line + dark) / 2, min(top, spread)))
    if not along.any():
        return keep
    count, labels, stats, _ = cv2.connectedComponentsWithStats(along.view(np.uint8), connectivity=8, ltype=cv2.CV_32S)
    near = cv2.dilate(other.view(np.uint8), np.ones((3, 3), np.uint8)).view(bool)
    extent = np.maximum(stats[:, 2], stats[:, 3])
    touch = np.bincount(labels[along & near], minlength=count) > 0
    # a thin digit a fine grid has eaten whole touches no other ink: as dark as the pen, and digit-sized
    mean = np.bincount(labels[along], weights=inkmap.ink[along], minlength=count) / np.maximum(stats[:, 4], 1)
    whole = (mean >= EATEN * dark) & (extent >= 0.5 * height) & (dark - line >= EATEN_OVER_RULE)
    ok = (touch | whole) & (extent <= ALONG * height)
    ok[0] = False
    return ok[labels]


def _line_pieces(rest: np.ndarray, rule: np.ndarray, height: float) -> np.ndarray:
    """Pieces of a printed line left where it broke (light fading along it, a gap in its ink): straight,
    no thicker than the lines removed, no longer than a digit, and continued in their own columns (rows,
    if flat) by removed line ink over at least half of the ``LINE_GAP`` digit heights beyond one end, with
    little removed ink beside (a line runs on there, not a shadow)."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(rest.view(np.uint8), connectivity=8, ltype=cv2.CV_32S)
    part = np.zeros(count, bool)
    line = stroke_width(rule) + 1  # (a 2-pixel line measures 1)
    x, y, w, h = (stats[1:, k] for k in range(4))
    thin, long = np.minimum(w, h), np.maximum(w, h)
    reach, pad = max(2, int(LINE_GAP * height)), int(2 * line) + 2
    for k in np.flatnonzero((thin <= line) & (long >= 3 * thin) & (long <= height)):
        x0, y0, x1, y1 = x[k], y[k], x[k] + w[k], y[k] + h[k]
        upright = h[k] >= w[k]
        grid = rule if upright else rule.T  # the piece upright: its line runs on above or below
        a, b, top, bottom = (x0, x1, y0, y1) if upright else (y0, y1, x0, x1)
        lo, wide = max(0, a - 1), max(0, a - 1 - pad)
        for end in (grid[max(0, top - reach) : top], grid[bottom : bottom + reach]):
            on = end[:, lo : b + 1].any(axis=1)
            beside = end[:, wide : b + 1 + pad].copy()
            beside[:, lo - wide : b + 1 - wide] = False
            # the removed ink runs on in the piece's own columns, and mostly there alone (a line, not a shadow)
            part[k + 1] |= on.sum() >= reach / 2 and beside.any(axis=1).sum() <= on.sum() / 2
    return part[labels]


def _frame(inkmap: InkMap, height: float) -> np.ndarray:
    """The edges of a box the image was cropped from (a form's field, a cheque's amount): pieces of ink
    lying (all but ``EDGE_OUT`` of them) within ``EDGE`` digit heights of the image's edge, and at least
    ``EDGE_RUN`` digit heights long; or thin pieces on the edge itself that are that long together,
    each within ``EDGE`` of the next (the wall of the next box of a row, broken by the scan). Too short
    for printed lines, they would join the digits near them; a digit touching the edge of a tight crop
    reaches far past it."""
    band = max(3, int(EDGE * height))
    near = np.zeros(inkmap.mask.shape, bool)
    near[:band], near[-band:], near[:, :band], near[:, -band:] = True, True, True, True
    inside = np.bincount(inkmap.labels[inkmap.mask & near], minlength=inkmap.count + 1)
    extent = np.maximum(inkmap.stats[:, 2], inkmap.stats[:, 3])
    frame = (inside >= (1 - EDGE_OUT) * inkmap.stats[:, 4]) & (extent >= EDGE_RUN * height)
    h, w = inkmap.mask.shape
    x0, y0, bw, bh = (inkmap.stats[:, k] for k in range(4))
    x1, y1 = x0 + bw, y0 + bh
    thin = EDGE_THIN * height
    for on, start, end in (((x0 == 0) & (bw <= thin), y0, y1), ((x1 == w) & (bw <= thin), y0, y1),
                           ((y0 == 0) & (bh <= thin), x0, x1), ((y1 == h) & (bh <= thin), x0, x1)):
        on[0] = False
        if not on.any():
            continue
        order = np.flatnonzero(on)[np.argsort(start[on], kind="stable")]
        # runs of pieces along the side, each starting within ``band`` of the end of the one before
        breaks = np.flatnonzero(start[order][1:] - np.maximum.accumulate(end[order])[:-1] > band) + 1
        for run in np.split(order, breaks):
            if end[run].max() - start[run].min() >= EDGE_RUN * height:
                frame[run] = True
    frame[0] = False
    return frame[inkmap.labels]


def _walls(rest: np.ndarray, rule: np.ndarray, height: float) -> np.ndarray:
    """The walls of a row of boxes (a form's comb of one box per digit): straight upright runs of ink
    as thin as the lines removed, from one removed printed line to the next, ``WALLS`` or more between
    the same two lines. Too short for printed lines themselves, they would read as 1s. A digit that
    runs into a wall keeps its strokes beside it. A handwritten 1 is seldom upright, as thin as print
    and touching both lines, and its neighbours are closer than boxes."""
    line = stroke_width(rule) + 1
    # upright runs (slanted a little, broken a little), with any stroke that runs along them: the
    # straight band of each keeps the wall alone
    wide = cv2.dilate(rest.view(np.uint8), np.ones((1, 3), np.uint8))
    wide = cv2.morphologyEx(wide, cv2.MORPH_CLOSE, np.ones((max(1, int(0.15 * height)), 1), np.uint8))
    upright = cv2.morphologyEx(wide, cv2.MORPH_OPEN, np.ones((max(6, int(WALL * height)), 1), np.uint8)).view(bool) & rest
    if not upright.any():
        return upright
    # a wall broken where a stroke crosses it or the print is thick is still one wall
    joined = cv2.morphologyEx(upright.view(np.uint8), cv2.MORPH_CLOSE, np.ones((max(3, int(0.3 * height)), 1), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8, ltype=cv2.CV_32S)
    pad = int(line) + 2
    found = []  # (x, top, bottom, its pixels) of each straight upright run between two printed lines
    for k in range(1, count):
        x, y, w, h = stats[k, :4]
        if h < WALL * height:
            continue  # what the opening left beside a run: a stub
        cols = slice(max(0, x - pad), x + w + pad)
        if not (rule[max(0, y - pad) : y + pad, cols].any() and rule[max(0, y + h - pad) : y + h + pad, cols].any()):
            continue
        # on squared paper a printed line runs on past the lines it meets; a box's wall ends there
        beyond = max(pad + 2, int(0.5 * height))
        if any(rule[a:b, cols].any(axis=1).mean() > 0.5 for a, b in
               ((max(0, y - beyond), max(0, y - pad)), (y + h + pad, min(len(rule), y + h + beyond))) if b > a):
            continue
        band = _straight_band(upright[y : y + h, x : x + w] & (labels[y : y + h, x : x + w] == k), line)
        if band is not None:
            found.append((x, y, y + h, band))
    found.sort(key=lambda run: run[:3])
    row = list(range(len(found)))  # each run's row of boxes: the first run of the row
    for i, (x, top, bottom, _) in enumerate(found):
        for j in range(i - 1, -1, -1):  # the nearest run to the left between the same two lines
            if x - found[j][0] > BOX_WIDTH[1] * height:
                break
            if abs(found[j][1] - top) <= pad and abs(found[j][2] - bottom) <= pad:
                if x - found[j][0] >= BOX_WIDTH[0] * height:  # (closer: strokes of one mark, 1s of one number)
                    row[i] = row[j]
                break
    sizes = np.bincount(row, minlength=len(found)) if found else np.zeros(0, int)
    wall = np.zeros(rest.shape, bool)
    for (x, top, bottom, band), first in zip(found, row):
        if sizes[first] >= WALLS:
            wall[top:bottom, x : x + band.shape[1]] |= band
    return with_stubs(rest, wall, 2 * int(line) + 1)


def _straight_band(run: np.ndarray, line: float) -> np.ndarray | None:
    """The pixels of ``run`` (a crop of upright ink) along one straight line within about 14 degrees
    of upright, or ``None``: the line must be inked over ``WALL_INK`` of the rows, and as thin as print
    over a quarter of them at least (elsewhere a digit may run along it)."""
    h, w = run.shape
    ys = np.arange(h)[:, None]
    best = (0, 0.0, 0)
    for slope in np.linspace(-0.25, 0.25, 11):
        xs = np.arange(w)[None, :] + np.round(slope * (ys - h / 2)).astype(int)
        cover = (run[ys, np.clip(xs, 0, w - 1)] & (xs >= 0) & (xs < w)).sum(axis=0)
        if cover.max() > best[0]:
            best = (int(cover.max()), float(slope), int(cover.argmax()))
    cover, slope, start = best
    if cover < WALL_INK * h:
        return None
    centre = start + slope * (np.arange(h) - h / 2)
    at = np.clip(np.round(centre).astype(int), 0, w - 1)
    # each row's run of ink through the line: from the last blank before it to the first after
    cols = np.arange(w)
    last_blank = np.maximum.accumulate(np.where(run, -1, cols), axis=1)
    next_blank = np.minimum.accumulate(np.where(run, w, cols)[:, ::-1], axis=1)[:, ::-1]
    rows = np.arange(h)
    on = run[rows, at]
    thin = float(np.quantile((next_blank - last_blank - 1)[rows, at][on], 0.25))
    if thin > line + 2:
        return None
    return run & (np.abs(np.arange(w)[None, :] - centre[:, None]) <= max(line, thin) / 2 + 1.5)


def _paper_sized(inkmap: InkMap, labels, factor: float, marked: np.ndarray | None = None,
                 alone: float | None = None) -> np.ndarray:
    """Which components (a bool per label) may hold paper: of the candidate ``labels``, those whose
    extent is at least ``factor`` times the typical height of the *other* pieces. A piece of digit size
    next to the others (a long 1, a bold 8) is never paper: judged against itself, any digit would look
    like a line or a blot. Pieces mostly of ``marked`` (printed) ink measure no digits while others do (a
    grid cut in two; a ruled line per piece, each with digits resting on it, measure each other). A piece
    with no peers (all the ink touches a frame), or a sheet with none but printed ones (``SHEET`` lines'
    worth of print: ruled or squared paper joining all the digits), is judged against the digits apart
    from it, or else against what is left of it once its ``marked`` pixels go, ``alone`` times as strictly
    for a frame (``None``: never paper); a sheet with nothing left is all paper."""
    out = np.zeros(inkmap.count + 1, bool)
    stats = inkmap.stats[1:]
    extent = np.maximum(stats[:, 2], stats[:, 3])
    printed = np.zeros(len(stats), bool)
    if marked is not None:
        printed = np.bincount(inkmap.labels[marked], minlength=len(stats) + 1)[1:] >= PRINTED * stats[:, 4]
    for label in labels:
        if label == 0:
            continue
        others, print_others = np.delete(stats, label - 1, axis=0), np.delete(printed, label - 1)
        big = others[:, 4] >= PEERS * stats[label - 1, 4]  # a speck tells no digit height
        apart = big & ~print_others
        if apart.any():
            out[label] = extent[label - 1] >= factor * typical_height(others[apart])
            continue
        sheet = False
        if marked is not None:
            x, y, w, h, _ = stats[label - 1]
            mine = inkmap.labels[y : y + h, x : x + w] == label
            lines = mine & marked[y : y + h, x : x + w]
            # many lines' worth of printed ink: a ruled or squared sheet, judged like any page, not a frame
            sheet = lines.sum() >= SHEET * extent[label - 1] * stroke_width(lines)
        if big.any() and not sheet:
            out[label] = extent[label - 1] >= factor * typical_height(others[big])
        elif alone is not None:
            digits = others[~print_others]
            if sheet and len(digits):  # the digits in its cells: all small next to a whole sheet's grid
                peers = digits[digits[:, 4] >= PEERS * digits[:, 4].max()]
                out[label] = extent[label - 1] >= factor * typical_height(peers)
                continue
            left = cv2.connectedComponentsWithStats((mine & ~lines).view(np.uint8), connectivity=8, ltype=cv2.CV_32S)[2][1:]
            left = left[left[:, 4] >= 0.1 * left[:, 4].max(initial=0)]  # the digits left, not their specks
            if len(left):
                out[label] = extent[label - 1] >= (1.0 if sheet else alone) * factor * typical_height(left)
            else:
                out[label] = sheet
    return out
