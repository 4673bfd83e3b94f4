"""The sheet of a generated page and the photograph of it (:mod:`handwritten_digits.data.pages`): paper colour
with printed rules or squares, show-through from the back, shadows, a desk around the sheet, a turn and a
mild perspective. Each takes the page's ``rng`` where it draws, so pages stay deterministic."""

from __future__ import annotations

import cv2
import numpy as np

from handwritten_digits.synthetic import ink_patch


def paper(rng, kind, shape, h) -> np.ndarray:
    """The sheet in RGB [0, 1]: its colour, and printed rules or squares."""
    hh, ww = shape
    if kind == "note":
        rgb = np.empty((hh, ww, 3), np.float32)
        rgb[:] = (rng.uniform(0.95, 1.0), rng.uniform(0.86, 0.96), rng.uniform(0.4, 0.65))  # yellow note
    else:
        rgb = np.empty((hh, ww, 3), np.float32)
        rgb[:] = rng.uniform(0.86, 1.0) + rng.uniform(-0.03, 0.03, 3)
    lines = np.zeros(shape, np.uint8)
    thick = max(1, int(round(h * rng.uniform(0.02, 0.05))))
    if kind == "ruled":
        pitch = h * rng.uniform(1.1, 1.7)
        for y in np.arange(rng.uniform(0, pitch), hh, pitch):
            cv2.line(lines, (0, int(y)), (ww, int(y)), 1, thick)
        if rng.random() < 0.5:  # the red margin
            x = int(rng.uniform(0.02, 0.08) * ww)
            cv2.line(rgb, (x, 0), (x, hh), (0.9, 0.45, 0.45), thick)
    elif kind == "squared":
        pitch = h * rng.uniform(0.45, 0.8)
        for y in np.arange(rng.uniform(0, pitch), hh, pitch):
            cv2.line(lines, (0, int(y)), (ww, int(y)), 1, thick)
        for x in np.arange(rng.uniform(0, pitch), ww, pitch):
            cv2.line(lines, (int(x), 0), (int(x), hh), 1, thick)
    if lines.any():
        # printed lines are light blue or gray, fainter than a pen; a quarter of the sheets darker
        dark = rng.random() < 0.25
        tone = np.array([rng.uniform(0.55, 0.8), rng.uniform(0.65, 0.85), rng.uniform(0.8, 0.95)], np.float32)
        tone = tone if dark else 1 - (1 - tone) * 0.55
        rgb[lines > 0] = rgb[lines > 0] * tone
    return rgb


def show_through(rng, images, pick, shape, h) -> np.ndarray:
    """Faint, blurred, mirrored digits of the back side."""
    back = np.zeros(shape, np.float32)
    for _ in range(int(rng.integers(5, 25))):
        p = ink_patch(images[pick()], max(8, int(h * rng.uniform(0.8, 1.2))), rng)[:, ::-1]
        y, x = int(rng.integers(0, max(1, shape[0] - p.shape[0]))), int(rng.integers(0, max(1, shape[1] - p.shape[1])))
        region = back[y : y + p.shape[0], x : x + p.shape[1]]
        np.maximum(region, p[: region.shape[0], : region.shape[1]], out=region)
    return cv2.GaussianBlur(back, (0, 0), max(1.0, h / 25))


def shadow(rng, kind, idmap, h) -> np.ndarray:
    """How much light a shadow takes away, per pixel: under one line's numbers, or across a corner."""
    hh, ww = idmap.shape
    soft = np.zeros((hh, ww), np.float32)
    if kind == "below":  # under a number, clear of other ink (under the last line if need be)
        ys, xs = np.nonzero(idmap)
        ids = idmap[ys, xs]
        last = int(ids.max())
        for k in [*rng.permutation(np.unique(ids)).tolist(), last]:
            x0, x1, y1 = xs[ids == k].min(), xs[ids == k].max(), ys[ids == k].max()
            top = int(y1 + h * rng.uniform(0.1, 0.3))
            box = (int(x0 - 0.3 * h), top, int(x1 + 0.3 * h), int(top + h * rng.uniform(0.4, 1.0)))
            pad = int(0.6 * h)
            near = idmap[max(0, box[1]) : box[3] + pad, max(0, box[0] - pad) : box[2] + pad]
            if not near.any() or k == last:
                break
        cv2.rectangle(soft, box[:2], box[2:], 1.0, -1)
    else:
        cx, cy = rng.choice([0, ww]), rng.choice([0, hh])
        r = rng.uniform(0.25, 0.6) * max(hh, ww)
        cv2.ellipse(soft, (int(cx), int(cy)), (int(r), int(r * rng.uniform(0.5, 1.0))), float(rng.uniform(0, 180)), 0, 360, 1.0, -1)
    soft = cv2.GaussianBlur(soft, (0, 0), max(1.0, h * rng.uniform(0.05, 0.3)))
    return soft * np.float32(rng.uniform(0.2, 0.45))


def desk(rng, rgb, idmap, h):
    """The sheet on a darker desk that shows on one or two of its sides."""
    sides = rng.permutation(4)[: int(rng.integers(1, 3))]
    pad = [int(h * rng.uniform(0.3, 2.0)) if k in sides else 0 for k in range(4)]  # top, bottom, left, right
    desk = [float(v) for v in rng.uniform(0.25, 0.6) * np.array([1.0, rng.uniform(0.75, 1.0), rng.uniform(0.5, 0.9)])]
    rgb = cv2.copyMakeBorder(rgb, *pad, cv2.BORDER_CONSTANT, value=desk)
    return rgb, cv2.copyMakeBorder(idmap, *pad, cv2.BORDER_CONSTANT, value=0)


def turn(rgb, idmap, degrees: float):
    """The sheet turned ``degrees`` counter-clockwise, on a canvas that holds all of it (the corners
    beyond it: the paper's median colour, as a photo cropped to the sheet)."""
    m, size = turning(idmap.shape, degrees)
    edge = tuple(float(v) for v in np.median(rgb.reshape(-1, 3)[::97], 0))
    rgb = cv2.warpAffine(rgb, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=edge)
    return rgb, cv2.warpAffine(idmap, m, size, flags=cv2.INTER_NEAREST)


def turning(shape: tuple[int, int], degrees: float, margin: int = 0) -> tuple[np.ndarray, tuple[int, int]]:
    """OpenCV's matrix turning an image of ``shape`` (h, w) ``degrees`` counter-clockwise about its centre,
    moved onto a canvas that holds all of it (``margin`` px more each way), and that canvas's (w, h)."""
    hh, ww = shape
    m = cv2.getRotationMatrix2D((ww / 2, hh / 2), degrees, 1.0)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    size = int(ww * cos + hh * sin) + margin, int(ww * sin + hh * cos) + margin
    m[:, 2] += (size[0] - ww) / 2, (size[1] - hh) / 2
    return m, size


def perspective(rng, rgb, idmap):
    """A mild perspective: each corner moved by up to 4% of the page."""
    hh, ww = idmap.shape
    src = np.float32([[0, 0], [ww, 0], [ww, hh], [0, hh]])
    dst = src + rng.uniform(-0.04, 0.04, (4, 2)).astype(np.float32) * (ww, hh)
    dst = (dst - dst.min(0)).astype(np.float32)
    size = (int(dst[:, 0].max()) + 1, int(dst[:, 1].max()) + 1)
    m = cv2.getPerspectiveTransform(src, dst)
    edge = tuple(float(v) for v in np.median(rgb.reshape(-1, 3)[:: 97], 0))
    rgb = cv2.warpPerspective(rgb, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=edge)
    return rgb, cv2.warpPerspective(idmap, m, size, flags=cv2.INTER_NEAREST)
