"""Stage 2, ink: a :class:`GrayImage` -> an :class:`InkMap`, the strokes and their connected components.

Polarity (dark on light or light on dark) from the skew of the gray levels; uneven illumination
flattened by a morphological opening far larger than a stroke; ink thresholded with hysteresis
relative to the paper's noise, so an image with no stroke clearly above its noise has no ink (no
digit, never a guess). A clean drawing with thick strokes (the page's canvas) is read at a lower
resolution, where it loses nothing. All image operations are OpenCV's.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from handwritten_digits.reading.decode import GrayImage

WORK_SIDE = 1000  # ink is found at most at this resolution (boxes are mapped back)
QUICK_SIDE = 160  # but first at this one, for pure white or black paper (drawn on a screen), kept when
QUICK_NOISE = 0.002  # the paper's noise is under this (photos and scans lose detail), the strokes are at least ...
QUICK_STROKE = 4.0  # ... this wide (px) and some piece at least ...
QUICK_HEIGHT = 32  # ... this tall (px): thick strokes on big digits lose nothing at low resolution
CLEAR = 8.0  # ink stands this many times the paper's noise above it ...
STROKED = 5.0  # ... or this many, where the pixels above the noise join into a stroke of at least ...
STROKE_PIXELS, STROKE_SHARE = 30, 0.002  # ... this many pixels and this share of the image
PAGE_LIGHT = (24, 2)  # polarity: the skew from a median over half the image (a 24 px copy is plenty) ...
FINER_LIGHT = (64, 6)  # ... and, for a second opinion, over a sixth (a 64 px copy)
FILLED = 0.6  # ink this share of the shorter side tall fills a tight crop: its background's opening is ...
THICK = 4.0  # ... at least this many stroke widths wide (a quarter of the side may be no wider than a stroke)


@dataclass
class InkMap:
    """Soft ink (1 = full ink), the hard stroke mask and its 8-connected components, at a working resolution.

    ``scale`` maps working pixels to input pixels: input = working * scale. ``labels`` numbers the
    components 1..n (0: paper) and ``stats`` holds OpenCV's (x, y, width, height, area) of each, row 0
    for the paper.
    """

    ink: np.ndarray  # (H, W) float32 in [0, 1]
    mask: np.ndarray  # (H, W) bool: pixels that belong to strokes
    scale: float
    shape: tuple[int, int]  # the input image's (height, width)
    labels: np.ndarray  # (H, W) int32
    stats: np.ndarray  # (n + 1, 5) int32
    noise: float = 0.0  # robust standard deviation of the paper, in [0, 1] gray levels
    dark: bool = True  # the polarity taken: dark ink on light paper ...
    guessed: bool = False  # ... estimated from the image's light (not a screen's flat paper, nor given)

    @property
    def count(self) -> int:
        return len(self.stats) - 1


def find_ink(gray: GrayImage | np.ndarray, work_side: int = WORK_SIDE, quick_side: int | None = QUICK_SIDE,
             dark: bool | None = None) -> InkMap:
    """Locate the strokes in a grayscale image of either polarity.

    Parameters
    ----------
    gray : GrayImage or ndarray (H, W) float in [0, 1]
    work_side : int
        Larger images are first shrunk (area averaging) so their longer side is this long.
    quick_side : int, optional
        For a drawing on pure white or black paper, first look at this (lower) resolution and keep what
        is found there when its strokes and digits are big enough to lose nothing: a few times less work.
    dark : bool, optional
        Take the ink to be darker than the paper (``True``) or lighter (``False``); ``None``: estimated.

    Returns
    -------
    InkMap
        ``mask`` is all False when the image holds no ink (blank, uniform or pure noise).
    """
    if not isinstance(gray, GrayImage):
        pixels = np.asarray(gray, dtype=np.float32)
        gray = GrayImage(pixels, pixels.shape)
    pixels = gray.pixels
    if quick_side and max(pixels.shape) > 1.5 * quick_side and quick_side < work_side and dark is None:
        paper = _screen_paper(pixels)
        if paper is not None:
            quick = _find_ink_at(gray, quick_side, paper)
            if _resolved(quick):
                return quick
    return _find_ink_at(gray, work_side, dark=dark)


def resize(arr: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize a float image to ``size`` = (width, height): area averaging when shrinking, else bilinear.

    Pillow's box filter, not OpenCV's ``INTER_AREA``: measured on 3,650 recorded images, OpenCV's is
    1.4-2x faster here but samples slightly differently and flips 10 readings that sit on a threshold
    (3 better, 3 worse, 4 wrong either way); Pillow's keeps every reading as it was.
    """
    img = Image.fromarray(np.asarray(arr, dtype=np.float32), mode="F")
    shrink = size[0] < arr.shape[1] and size[1] < arr.shape[0]
    return np.asarray(img.resize(size, Image.BOX if shrink else Image.BILINEAR), dtype=np.float32)


def turning(shape: tuple[int, int], degrees: float, margin: int = 0) -> tuple[np.ndarray, tuple[int, int]]:
    """OpenCV's matrix turning an image of ``shape`` (h, w) ``degrees`` counter-clockwise about its centre,
    moved onto a canvas that holds all of it (``margin`` px more each way), and that canvas's (w, h)."""
    h, w = shape
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    cos, sin = abs(turn[0, 0]), abs(turn[0, 1])
    size = (int(np.ceil(h * sin + w * cos)) + margin, int(np.ceil(h * cos + w * sin)) + margin)
    turn[:, 2] += (size[0] - w) / 2, (size[1] - h) / 2
    return turn, size


def stroke_width(mask: np.ndarray) -> float:
    """Typical stroke width of a binary mask in pixels: twice the distance transform on the stroke ridges."""
    if not mask.any():
        return 0.0
    dist = distance(mask)
    ridge = mask & (dist >= cv2.dilate(dist, np.ones((3, 3), np.uint8)))
    return max(1.0, 2.0 * float(np.median(dist[ridge])) - 1.0)


def distance(mask: np.ndarray, outside: bool = False) -> np.ndarray:
    """Euclidean distance of each True pixel to the nearest False one (beyond the edges: ``outside``)."""
    m = mask.astype(np.uint8)
    if outside:
        m = cv2.copyMakeBorder(m, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=1)
        return cv2.distanceTransform(m, cv2.DIST_L2, cv2.DIST_MASK_5)[1:-1, 1:-1]
    # pixels beyond the edges count as paper
    m = cv2.copyMakeBorder(m, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    return cv2.distanceTransform(m, cv2.DIST_L2, cv2.DIST_MASK_5)[1:-1, 1:-1]


def _screen_paper(gray: np.ndarray) -> float | None:
    """The paper's gray level when it is pure white or black, as drawn on a screen (photographed or
    scanned paper never is); otherwise ``None``."""
    paper = float(np.median(gray[::4, ::4]))
    return paper if paper >= 0.98 or paper <= 0.02 else None


def _resolved(inkmap: InkMap) -> bool:
    """Whether ink found at a low resolution is as good as at a higher one: no noise, wide strokes, tall pieces."""
    if inkmap.count == 0 or inkmap.noise > QUICK_NOISE:
        return False
    tallest = int(inkmap.stats[1:, cv2.CC_STAT_HEIGHT].max())
    return tallest >= QUICK_HEIGHT and stroke_width(inkmap.mask) >= QUICK_STROKE


def _empty(gray: np.ndarray, scale: float, shape: tuple[int, int], dark: bool = True, guessed: bool = False) -> InkMap:
    return InkMap(np.zeros_like(gray), np.zeros(gray.shape, bool), scale, shape,
                  np.zeros(gray.shape, np.int32), np.zeros((1, 5), np.int32), dark=dark, guessed=guessed)


def _find_ink_at(image: GrayImage, work_side: int, paper: float | None = None, dark: bool | None = None) -> InkMap:
    """:func:`find_ink` at one working resolution; ``paper``: the level of flat screen paper, when known
    (its polarity and background need no estimate); ``dark``: the polarity, when given."""
    gray, scale = _working(image, work_side)
    h, w = gray.shape
    # Every filter below stays within the image's range, so ink (a residual `level` >= 0.12 over a
    # median >= -range) needs a range of at least 0.06: a blank or near-uniform image stops here.
    lo, hi = cv2.minMaxLoc(gray)[:2]
    if min(h, w) < 3 or hi - lo < 0.06:
        return _empty(gray, scale, image.shape)

    guessed = dark is None and paper is None  # else given, or told by the flat screen paper
    dark_ink = _skew(gray, *PAGE_LIGHT) < 0 if guessed else (dark if dark is not None else paper >= 0.5)
    value = 1.0 - gray if dark_ink else gray
    known = (scale, image.shape, dark_ink, guessed)
    if paper is not None:  # flat screen paper: ink is whatever departs from it
        return _strokes(value - (1.0 - paper if dark_ink else paper), *known)
    inkmap = _strokes(value - _background(value), *known)
    if inkmap.count and inkmap.stats[1:, cv2.CC_STAT_HEIGHT].max() >= FILLED * min(h, w):
        # digits filling a tight crop: strokes as wide as the opening stay in the background and come
        # out hollow or not at all; the background is estimated again with an opening THICK strokes wide
        wider = _background(value, stroke_width(inkmap.mask))
        if wider is not None:
            again = _strokes(value - wider, *known)
            inkmap = again if again.count else inkmap
    return inkmap


def _strokes(resid: np.ndarray, scale: float, shape: tuple[int, int], dark_ink: bool, guessed: bool) -> InkMap:
    """The strokes in ``resid`` (ink-positive gray less the paper), thresholded with hysteresis above its noise."""
    # Noise from the background pixels; ink must stand well above it. A regular sample of 10,000-40,000
    # pixels gives the same median and spread as all of them, at a fraction of the cost.
    step = max(1, int(np.sqrt(resid.size / 10_000)))
    sample = resid[::step, ::step]
    center = float(np.median(sample))
    sigma = 1.4826 * float(np.median(np.abs(sample - center))) + 1e-4
    candidates = resid > center + max(4 * sigma, 0.06)
    if np.count_nonzero(candidates) < 3:
        return _empty(resid, scale, shape, dark_ink, guessed)
    values = resid[candidates]
    if values.size > 200_000:  # hatching or a checkerboard: a regular sample gives the same percentile
        values = values[:: values.size // 100_000]
    level = float(np.percentile(values, 90)) - center
    if level < max(0.12, CLEAR * sigma) and not (level >= max(0.12, STROKED * sigma) and _stroke_sized(candidates)):
        return _empty(resid, scale, shape, dark_ink, guessed)  # faint blotches or noise only: no stroke clearly above the paper
    # Hysteresis: weak pixels count when connected to strong ones, so thin or blurred strokes survive.
    strong = resid > center + 0.5 * level
    weak = (resid > center + max(0.25 * level, 3 * sigma)).view(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(weak, connectivity=8, ltype=cv2.CV_32S)
    keep = np.zeros(count, bool)
    keep[labels[strong]] = True
    keep[0] = False
    if not keep[1:].all():  # renumber the kept components 1..n so that labels and stats describe the mask alone
        new = np.zeros(count, np.int32)
        new[keep] = np.arange(1, int(keep.sum()) + 1, dtype=np.int32)
        labels = new[labels]
        stats = np.concatenate([stats[:1], stats[keep]])
    mask = labels > 0
    low = center + max(0.1 * level, 2 * sigma)
    soft = np.clip((resid - low) * np.float32(1 / max(1e-6, level - (low - center))), 0.0, 1.0)
    near = cv2.dilate(mask.view(np.uint8), np.ones((3, 3), np.uint8))  # anti-aliased edges outside the mask
    ink = soft * near  # 0 away from the strokes
    np.maximum(ink, mask * np.float32(0.05), out=ink)  # every stroke pixel holds some ink
    return InkMap(ink.astype(np.float32, copy=False), mask, scale, shape, labels, stats, sigma, dark_ink, guessed)


def _stroke_sized(candidates: np.ndarray) -> bool:
    """Whether the pixels above the noise hold one connected run of a stroke's size (noise leaves
    isolated pixels): patterned paper (a cheque) is noisy, and digits written on it are less than
    ``CLEAR`` times its spread above it."""
    stats = cv2.connectedComponentsWithStats(candidates.view(np.uint8), connectivity=8, ltype=cv2.CV_32S)[2]
    return int(stats[1:, cv2.CC_STAT_AREA].max(initial=0)) >= max(STROKE_PIXELS, STROKE_SHARE * candidates.size)


def dark_on_a_finer_scale(image: GrayImage, work_side: int = WORK_SIDE) -> bool:
    """The polarity told against a finer median (``FINER_LIGHT``: a sixth of the image, not half): a light
    sheet on a dark desk weighs on the page-wide median and can pass for light ink on dark paper, not on
    this one (which a big bold digit fools in turn). A second opinion, for a reading that found nothing."""
    return _skew(_working(image, work_side)[0], *FINER_LIGHT) < 0


def _working(image: GrayImage, work_side: int) -> tuple[np.ndarray, float]:
    """The image's pixels at no more than ``work_side`` (area averaging) and their scale to input pixels."""
    gray, scale = image.pixels, image.scale
    if max(gray.shape) > work_side:
        f = max(gray.shape) / work_side
        gray = resize(gray, (max(1, round(gray.shape[1] / f)), max(1, round(gray.shape[0] / f))))
        scale = max(image.shape) / max(gray.shape)
    return gray, scale


def _skew(gray: np.ndarray, side: int, part: int) -> float:
    """The third moment of ``gray`` less its median over windows ``1 / part`` of the image (on a ``side``
    px copy): negative for dark ink, the heavy tail (polarity-blind)."""
    if gray.size > 250_000:  # every other row and column tell the same skew at a quarter of the work
        gray = gray[::2, ::2]
    h, w = gray.shape
    tiny_scale = max(1.0, max(h, w) / side)
    tw, th = max(1, round(w / tiny_scale)), max(1, round(h / tiny_scale))
    tiny = resize(gray, (tw, th)) if tiny_scale > 1 else gray
    med = _median(tiny, max(3, (min(th, tw) // part) | 1))
    resid = gray - (resize(med, (w, h)) if tiny_scale > 1 else med)
    # summed in float64 (elementwise: BLAS's dot costs milliseconds on a busy machine)
    return float(np.sum(resid * resid * resid, dtype=np.float64))


def _median(arr: np.ndarray, size: int) -> np.ndarray:
    """Median over ``size`` x ``size`` windows, edges repeated (a tiny image: OpenCV's median is for uint8)."""
    before = size // 2
    padded = np.pad(arr, ((before, size - 1 - before), (before, size - 1 - before)), mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, (size, size))
    return np.median(windows, axis=(2, 3)).astype(np.float32)


def _background(value: np.ndarray, stroke: float | None = None) -> np.ndarray | None:
    """Background of an ink-positive image: an opening far wider than a stroke removes the strokes
    and keeps slow illumination changes (a linear ramp survives an opening unchanged). The opening is a
    quarter of the shorter side, or, given the ``stroke`` width (px), ``THICK`` strokes wide: ``None``
    then if that is no wider than a quarter."""
    h, w = value.shape
    # on a coarse copy, ~64 px on the long side (area averaging keeps it noise-free)
    coarse_scale = max(1.0, max(h, w) / 64)
    cw, ch = max(1, round(w / coarse_scale)), max(1, round(h / coarse_scale))
    element = max(3, min(ch, cw) // 4) | 1
    if stroke is not None:
        wider = min(int(np.ceil(THICK * stroke / coarse_scale)), min(ch, cw)) | 1
        if wider <= element:
            return None
        element = wider
    coarse = resize(value, (cw, ch)) if coarse_scale > 1 else value
    kernel = np.ones((element, element), np.uint8)
    background = cv2.morphologyEx(coarse, cv2.MORPH_OPEN, kernel, borderType=cv2.BORDER_REPLICATE)
    smooth = max(3, element // 2) | 1
    background = cv2.blur(background, (smooth, smooth), borderType=cv2.BORDER_REPLICATE)
    return resize(background, (w, h)) if coarse_scale > 1 else background
