"""Marks drawn by hand, from template strokes: letters, symbols, scribbles, spirals, dots, stars,
hatching and shapes, for the "not a digit" examples of :mod:`handwritten_digits.data.negatives`.

Nothing is typed (a typeface is not handwriting): each mark is template polylines in a box about 1
tall (y down) with jittered corners, a slow wobble, random pen width, slant, rotation and size, drawn
supersampled with round caps into a soft ink patch (ink bright, in [0, 1]).

>>> ink = hand_drawn(LETTERS["K"], np.random.default_rng(0))   # (H, W) float32
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

SUPERSAMPLE = 4  # Pillow draws without anti-aliasing: draw big, then shrink by area averaging


def polyline(*points) -> np.ndarray:
    return np.array(points, dtype=np.float64)


def arc(cx, cy, rx, ry, a0, a1, n=28) -> np.ndarray:
    """Points along an ellipse from angle ``a0`` to ``a1`` (degrees; y points down, 90 = bottom)."""
    t = np.radians(np.linspace(a0, a1, n))
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def dot(x, y, r=0.05) -> np.ndarray:
    # a tiny closed loop, filled by the pen: big enough that the reader does not drop it as a speck
    return arc(x, y, r, r, 0, 400, 10)


def joined(*parts) -> np.ndarray:
    return np.concatenate(parts)


# Template strokes in a box about 1 tall, y down. Only letters no digit is written like.
LETTERS = {
    "A": [polyline((0, 1), (0.4, 0), (0.8, 1)), polyline((0.18, 0.62), (0.62, 0.62))],
    "C": [arc(0.4, 0.5, 0.4, 0.5, -60, -300)], "c": [arc(0.35, 0.5, 0.35, 0.5, -60, -300)],  # wide open: not a "0"
    "E": [polyline((0.7, 0), (0, 0), (0, 1), (0.7, 1)), polyline((0, 0.5), (0.55, 0.5))],
    "F": [polyline((0.7, 0), (0, 0), (0, 1)), polyline((0, 0.48), (0.55, 0.48))],
    "H": [polyline((0, 0), (0, 1)), polyline((0.7, 0), (0.7, 1)), polyline((0, 0.5), (0.7, 0.5))],
    "K": [polyline((0, 0), (0, 1)), polyline((0.65, 0), (0, 0.58)), polyline((0.2, 0.42), (0.7, 1))],
    "L": [polyline((0, 0), (0, 1), (0.65, 1))], "V": [polyline((0, 0), (0.4, 1), (0.8, 0))],
    "M": [polyline((0, 1), (0.05, 0), (0.42, 0.7), (0.8, 0), (0.85, 1))], "N": [polyline((0, 1), (0, 0), (0.7, 1), (0.7, 0))],
    "R": [joined(polyline((0, 1), (0, 0)), arc(0.3, 0.25, 0.35, 0.25, -90, 90), polyline((0, 0.5))), polyline((0.25, 0.5), (0.7, 1))],
    "W": [polyline((0, 0), (0.25, 1), (0.5, 0.3), (0.75, 1), (1, 0))], "X": [polyline((0, 0), (0.7, 1)), polyline((0.7, 0), (0, 1))],
    "Y": [polyline((0, 0), (0.38, 0.5), (0.76, 0)), polyline((0.38, 0.5), (0.38, 1))],
    "e": [joined(polyline((0.03, 0.5), (0.7, 0.5)), arc(0.36, 0.5, 0.36, 0.5, 0, -300))],
    "h": [polyline((0, -0.8), (0, 1)), joined(arc(0.3, 0.35, 0.3, 0.35, 180, 360), polyline((0.6, 1)))],
    "k": [polyline((0, -0.8), (0, 1)), polyline((0.55, 0), (0, 0.6)), polyline((0.2, 0.45), (0.6, 1))],
    "m": [joined(polyline((0, 1)), arc(0.25, 0.3, 0.25, 0.3, 180, 360), polyline((0.5, 1))),
          joined(arc(0.75, 0.3, 0.25, 0.3, 180, 360), polyline((1, 1)))],
    "n": [joined(polyline((0, 1)), arc(0.3, 0.35, 0.3, 0.35, 180, 360), polyline((0.6, 1)))],
    "u": [joined(polyline((0, 0)), arc(0.3, 0.6, 0.3, 0.4, 180, 0), polyline((0.6, 0))), polyline((0.6, 0), (0.6, 1))],
    "w": [joined(arc(0.25, 0.4, 0.25, 0.6, 180, 0), arc(0.75, 0.4, 0.25, 0.6, 180, 0))],
    "x": [polyline((0, 0), (0.9, 0.8)), polyline((0.9, 0), (0, 0.8))],
}
SYMBOLS = {
    "+": [polyline((0.5, 0), (0.5, 1)), polyline((0, 0.5), (1, 0.5))], "×": [polyline((0, 0), (1, 1)), polyline((1, 0), (0, 1))],
    "=": [polyline((0, 0.3), (1, 0.3)), polyline((0, 0.7), (1, 0.7))],
    "/": [polyline((0, 1), (1.5, 0))], "\\": [polyline((0, 0), (1.5, 1))],  # shallow: a steep slash is a "1"
    "?": [joined(arc(0.35, 0.28, 0.35, 0.28, 190, 400), polyline((0.4, 0.72))), dot(0.4, 0.95, 0.06)],
    "#": [polyline((0.3, 0), (0.2, 1)), polyline((0.7, 0), (0.6, 1)), polyline((0, 0.33), (0.95, 0.33)), polyline((-0.05, 0.67), (0.9, 0.67))],
    "*": [polyline((0.5, 0), (0.5, 1)), polyline((0.07, 0.25), (0.93, 0.75)), polyline((0.07, 0.75), (0.93, 0.25))],
    "%": [polyline((0.9, 0), (0.1, 1)), arc(0.2, 0.2, 0.15, 0.18, 0, 370), arc(0.8, 0.8, 0.15, 0.18, 0, 370)],
    "@": [arc(0.5, 0.5, 0.2, 0.22, 0, -360), joined(polyline((0.7, 0.28), (0.7, 0.62)), arc(0.5, 0.5, 0.5, 0.5, 30, -290, 40))],
    "<": [polyline((0.8, 0), (0, 0.5), (0.8, 1))], ">": [polyline((0, 0), (0.8, 0.5), (0, 1))], "^": [polyline((0, 1), (0.5, 0), (1, 1))],
    # strongly curved: a straight one is a "1" (so no [ ])
    "(": [arc(0.6, 0.5, 0.6, 0.58, 95, 265)], ")": [arc(0, 0.5, 0.6, 0.58, -85, 85)],
    "~": [np.stack([np.linspace(0, 1.2, 30), 0.5 - 0.2 * np.sin(np.linspace(0, 2 * np.pi, 30))], axis=1)],
    "÷": [polyline((0, 0.5), (1, 0.5)), dot(0.5, 0.15), dot(0.5, 0.85)],
}


def _densify(stroke: np.ndarray, step: float = 0.02) -> np.ndarray:
    seg = np.linalg.norm(np.diff(stroke, axis=0), axis=1)
    t = np.concatenate([[0.0], np.cumsum(seg)])
    if len(stroke) < 2 or t[-1] == 0:
        return stroke
    u = np.linspace(0, t[-1], max(2, int(t[-1] / step) + 1))
    return np.stack([np.interp(u, t, stroke[:, 0]), np.interp(u, t, stroke[:, 1])], axis=1)


def _hand(strokes, rng, jitter=0.04, wobble=0.015) -> list[np.ndarray]:
    """Strokes as a hand draws them: corners missed a little, lines drifting slowly sideways."""
    out = []
    for s in strokes:
        if len(s) <= 8:  # only a polyline's corners move; an arc's many points would turn jagged
            s = s + rng.normal(0, jitter, s.shape)
        s = _densify(s)
        t = np.linspace(0, 1, len(s))[:, None]
        freq, phase = rng.uniform(0.5, 2.5, (1, 2)), rng.uniform(0, 2 * np.pi, (1, 2))
        out.append(s + wobble * rng.normal(0, 1, (1, 2)) * np.sin(2 * np.pi * freq * t + phase))
    return out


def _pose(strokes, rng, rotate=12.0, slant=0.3, stretch=(0.8, 1.25)) -> list[np.ndarray]:
    """Random slant (shear), width stretch and rotation, the same for all strokes of a mark."""
    a = np.radians(rng.uniform(-rotate, rotate))
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    m = rot @ np.array([[rng.uniform(*stretch), -rng.uniform(-slant, slant)], [0.0, 1.0]])
    return [s @ m.T for s in strokes]


def draw(strokes, size: float, pen: float, fills=()) -> np.ndarray:
    """Strokes (and filled polygons) scaled so the longer side is ``size`` px, pen ``pen`` px: soft ink."""
    pts = np.concatenate(list(strokes) + list(fills))
    lo, span = pts.min(axis=0), np.ptp(pts, axis=0)
    scale = size / max(float(span.max()), 1e-6)
    pad = pen / 2 + 2
    w, h = (int(np.ceil(v * scale + 2 * pad)) for v in span)
    image = Image.new("L", (w * SUPERSAMPLE, h * SUPERSAMPLE), 0)
    draw = ImageDraw.Draw(image)
    width = max(1, round(pen * SUPERSAMPLE))
    r = width / 2
    for s in strokes:
        xy = [tuple(p) for p in (((s - lo) * scale + pad) * SUPERSAMPLE).tolist()]
        if len(xy) > 1:
            draw.line(xy, fill=255, width=width, joint="curve")
        for x, y in (xy[0], xy[-1]):  # round caps
            draw.ellipse((x - r, y - r, x + r, y + r), fill=255)
    for poly in fills:
        draw.polygon([tuple(p) for p in (((poly - lo) * scale + pad) * SUPERSAMPLE).tolist()], fill=255)
    return np.asarray(image.reduce(SUPERSAMPLE), dtype=np.float32) / 255.0


def hand_drawn(strokes, rng, rotate=12.0, pen=(0.03, 0.13), size=(16, 120), jitter=0.04, slant=0.3) -> np.ndarray:
    """Template strokes -> a hand-drawn soft ink patch at a random size and pen width."""
    side = rng.uniform(*size)
    span = float(np.ptp(np.concatenate(strokes), axis=0).max()) or 1.0
    strokes = [s / span for s in strokes]  # jitter and wobble are in units of the mark's size
    posed = _pose(_hand(strokes, rng, jitter), rng, rotate, slant)
    return draw(posed, side, max(1.0, side * rng.uniform(*pen)))


def scribble(rng) -> np.ndarray:
    style = rng.integers(4)
    if style == 0:  # random walk with momentum, smoothed: a tangle
        turn = np.cumsum(rng.normal(0, 1.2, int(rng.integers(60, 120))))  # long: a short walk can pass for a 2 or 5
        walk = np.cumsum(np.stack([np.cos(turn), np.sin(turn)], axis=1) * rng.uniform(0.5, 1.5, (len(turn), 1)), axis=0)
        for _ in range(2):  # Chaikin corner cutting
            walk = np.concatenate([0.75 * walk[:-1] + 0.25 * walk[1:], 0.25 * walk[:-1] + 0.75 * walk[1:]], axis=1).reshape(-1, 2)
        return hand_drawn([walk], rng, rotate=180, jitter=0)
    if style == 1:  # zigzag: enough zigs that it cannot pass for a W, M or N
        k = int(rng.integers(6, 14))
        zig = np.stack([np.linspace(0, rng.uniform(1.5, 4), k), np.arange(k) % 2 + rng.normal(0, 0.1, k)], axis=1)
        return hand_drawn([zig], rng, rotate=25)
    if style == 2:  # loops over loops (a cursive "eeee" spring)
        t = np.linspace(0, 2 * np.pi * rng.uniform(3, 7), 240)
        c = rng.uniform(0.15, 0.4)
        return hand_drawn([np.stack([c * t - np.sin(t), -np.cos(t) * rng.uniform(0.7, 1.3)], axis=1)], rng, rotate=20, jitter=0)
    # scratched out: dense back-and-forth strokes over an area
    k = int(rng.integers(10, 26))
    xs = np.where(np.arange(k) % 2 == 0, 0.0, rng.uniform(1, 2.5)) + rng.normal(0, 0.1, k)
    scratch = np.stack([xs, np.linspace(0, 1, k) + rng.normal(0, 0.03, k)], axis=1)
    return hand_drawn([scratch], rng, rotate=40, pen=(0.03, 0.1))


def spiral(rng) -> np.ndarray:
    turns = rng.uniform(2, 3.5)
    t = np.linspace(0, 2 * np.pi * turns, int(50 * turns))
    r = 0.1 + t / t[-1]
    spiral = np.stack([r * np.cos(t) * rng.uniform(0.85, 1.2), r * np.sin(t)], axis=1)  # a tall oval is a "0"
    if rng.random() < 0.5:
        spiral[:, 0] *= -1  # either sense of turn
    return hand_drawn([spiral], rng, rotate=180, pen=(0.015, 0.05), jitter=0)  # thin pen keeps the turns apart


def dots(rng) -> np.ndarray:
    count = 1 if rng.random() < 0.7 else int(rng.integers(2, 4))  # a dot, or an ellipsis
    blobs = []
    for i in range(count):
        a = np.linspace(0, 2 * np.pi, int(rng.integers(10, 20)), endpoint=False)
        r = 1 + rng.normal(0, 0.1, len(a))
        blobs.append(np.stack([i * 3.0 + r * np.cos(a) * rng.uniform(0.75, 1.3), r * np.sin(a)], axis=1))
    blobs = _pose(blobs, rng, rotate=20)
    side = rng.uniform(3, 30) * (2.5 if count > 1 else 1)
    return draw([], side, 1.0, fills=blobs)


def star(rng) -> np.ndarray:
    style = rng.integers(3)
    if style == 0:  # pentagram in one stroke
        a = np.radians(-90 + 144 * np.arange(6))
        strokes = [np.stack([np.cos(a), np.sin(a)], axis=1)]
    elif style == 1:  # asterisk of 3-4 crossing lines
        k = int(rng.integers(3, 5))
        a = np.pi * np.arange(k) / k + rng.uniform(0, np.pi)
        strokes = [polyline((-np.cos(x), -np.sin(x)), (np.cos(x), np.sin(x))) * rng.uniform(0.8, 1.1) for x in a]
    else:  # six-pointed: two triangles
        a = np.radians(-90 + 120 * np.arange(4))
        up = np.stack([np.cos(a), np.sin(a)], axis=1)
        strokes = [up, -up]
    return hand_drawn(strokes, rng, rotate=180, pen=(0.03, 0.1), slant=0.15)


def hatching(rng) -> np.ndarray:
    k = int(rng.integers(3, 9))
    length = rng.uniform(0.6, 2.5)
    start = rng.normal(0, 0.08, k)
    strokes = [polyline((s, i / (k - 1)), (s + length, i / (k - 1))) for i, s in enumerate(start)]
    if rng.random() < 0.3:  # cross-hatching
        a = np.radians(rng.uniform(60, 120))
        rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        centre = np.array([length / 2, 0.5])
        strokes += [(s - centre) @ rot.T + centre for s in strokes]
    return hand_drawn(strokes, rng, rotate=180, pen=(0.01, 0.05), jitter=0.02)


def shape(rng) -> np.ndarray:
    # Closed outlines overshoot their start a little, as a hand closes them; no circle or ellipse (a "0").
    kind = rng.integers(7)
    if kind == 0:
        strokes, rotate = [polyline((0, 1), (0.5, 0), (1, 1), (0, 1), (0.15, 0.75))], 20
    elif kind == 1:
        w = rng.uniform(0.95, 1.1) if rng.random() < 0.5 else rng.uniform(1.4, 3)  # square, or a wide rectangle
        strokes, rotate = [polyline((0, 0), (w, 0), (w, 1), (0, 1), (0, -0.1))], 10
    elif kind == 2:
        w = rng.uniform(0.8, 1.5)
        strokes, rotate = [polyline((w / 2, 0), (w, 0.5), (w / 2, 1), (0, 0.5), (w / 2 + 0.05, -0.05))], 10
    elif kind == 3:  # heart
        t = np.linspace(0, 2 * np.pi, 60)
        strokes, rotate = [np.stack([16 * np.sin(t) ** 3, -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))], axis=1) / 16], 15
    elif kind == 4:  # arrow, pointing left or right (an upright arrow is a "1" with a flag)
        head = rng.uniform(0.15, 0.3)
        strokes = [polyline((0, 0.5), (1, 0.5)), polyline((1 - head, 0.5 - head), (1, 0.5), (1 - head, 0.5 + head))]
        strokes = [s * [-1, 1] for s in strokes] if rng.random() < 0.5 else strokes
        rotate = 35
    elif kind == 5:  # outline of a Greek cross
        a, b = 1 / 3, 2 / 3
        strokes, rotate = [polyline((a, 0), (b, 0), (b, a), (1, a), (1, b), (b, b), (b, 1), (a, 1), (a, b), (0, b), (0, a), (a, a), (a, 0))], 20
    else:  # filled-in triangle or square, as people shade them
        n = int(rng.integers(3, 5))
        a = np.radians(-90 + 360 / n * np.arange(n))
        return draw([], rng.uniform(16, 100), 1.0, fills=_pose([np.stack([np.cos(a), np.sin(a)], axis=1)], rng, 20))
    return hand_drawn(strokes, rng, rotate=rotate, jitter=0.03)
