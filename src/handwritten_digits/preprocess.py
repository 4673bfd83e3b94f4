"""Turn any image into the 28x28 inputs a model sees, the way MNIST was made.

One module for training, CLI, API and page. The model contract: float32 images of shape
(28, 28) in [0, 1], ink bright on a dark background, the digit scaled into a 20x20 box and
centred by its centre of mass in the 28x28 frame. Models standardise with ``MNIST_MEAN`` and
``MNIST_STD`` inside their own graph, so every caller feeds the same [0, 1] images.

The pipeline, for a path, bytes, PIL image or array:

1. :func:`load_image` decodes to grayscale in [0, 1] (any mode, EXIF orientation, transparency as
   white paper; animated or multi-page files: the first frame). Sizes are checked from the header,
   before any pixel is decoded, so decompression bombs are refused at once.
2. :func:`find_ink` decides the polarity (dark on light or light on dark), flattens uneven
   illumination (a morphological opening far larger than a stroke estimates the background),
   thresholds with hysteresis relative to the noise level and gives a soft ink map. An image with
   no stroke clearly above its noise has no ink: it yields no digit, never a guess. A clean drawing
   with thick strokes (the page's canvas) is read at a lower resolution, where it loses nothing.
3. :mod:`handwritten_digits.segment` groups the ink into digits (merging strokes, splitting
   touching digits, dropping specks) and :func:`normalize_digit` makes each one MNIST-like,
   including the stroke thickness: a thin pen on a big canvas is thickened to MNIST's 2-3 px.

Only numpy and Pillow: scipy.ndimage would cost ~0.25 s of CPU at every cold start (deskew,
for models that ask for it, still imports it).
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from handwritten_digits.errors import DigitsError

MNIST_MEAN = 0.1307  # mean pixel of the MNIST training images, scaled to [0, 1]
MNIST_STD = 0.3081  # and their standard deviation
SIZE = 28  # the model's input frame
BOX = 20  # MNIST fits each digit's longer side into this box
MAX_PIXELS = 40_000_000  # larger images are refused before decoding (decompression bombs)
MAX_SIDE = 30_000  # a side longer than this is refused too, whatever the area
WORK_SIDE = 1000  # ink is found at most at this resolution (boxes are mapped back)
QUICK_SIDE = 160  # but first at this one, for pure white or black paper (drawn on a screen), kept when
QUICK_NOISE = 0.002  # the paper's noise is under this (photos and scans lose detail), the strokes are at least ...
QUICK_STROKE = 4.0  # ... this wide (px) and some piece at least ...
QUICK_HEIGHT = 32  # ... this tall (px): thick strokes on big digits lose nothing at low resolution
# MNIST strokes, measured by ``stroke_width`` on MNIST training digits in the 20x20 box
# on 4x upsampled MNIST test digits, divided by 4: median 2.25 px, 10th-90th percentile 1.55-3.25 px.
MNIST_STROKE = 2.25
STROKE_RANGE = (0.6, 1.8)  # strokes within these multiples of MNIST_STROKE are left alone


@dataclass
class Digit:
    """One digit found in an image: the model-ready 28x28 input and its box in the input image."""

    image: np.ndarray  # (28, 28) float32 in [0, 1]
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive) in input pixels


@dataclass
class InkMap:
    """Soft ink (1 = full ink) and the hard stroke mask, at a working resolution.

    ``scale`` maps working pixels to input pixels: input = working * scale.
    """

    ink: np.ndarray  # (H, W) float32 in [0, 1]
    mask: np.ndarray  # (H, W) bool: pixels that belong to strokes
    scale: float
    shape: tuple[int, int]  # the input image's (height, width)
    pieces: tuple | None = None  # ``_label(mask)``, when already known
    noise: float = 0.0  # robust standard deviation of the paper, in [0, 1] gray levels


# ---------------------------------------------------------------- decoding


def load_image(source) -> np.ndarray:
    """Decode ``source`` (path, bytes, PIL image or array) to grayscale float32 in [0, 1].

    Transparent pixels count as white paper; EXIF orientation is applied; an animated or
    multi-page file (GIF, TIFF, WebP, APNG) is read from its first frame.

    Raises
    ------
    DigitsError
        Unreadable, empty, truncated or oversized input (checked before decoding pixels).
    """
    if isinstance(source, np.ndarray):
        return _array_to_gray(source)
    if isinstance(source, Image.Image):
        _check_size(source.width, source.height, "image")
        return _decode(source, "image")
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        name = "image data"
    elif isinstance(source, (str, Path)):
        path = Path(source)
        if path.is_dir():
            raise DigitsError(f"{path}: is a folder, not an image")
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise DigitsError(f"{path}: cannot read file ({exc.strerror or exc})") from None
        name = str(path)
    else:
        raise DigitsError(f"cannot read an image from a {type(source).__name__}")
    if not data:
        raise DigitsError(f"{name}: empty file")
    try:
        with warnings.catch_warnings():  # sizes are checked below, with our own limit and message
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        raise DigitsError(f"{name}: image too large (decompression bomb refused)") from None
    except Image.UnidentifiedImageError:
        raise DigitsError(f"{name}: not an image (or a format Pillow cannot read)") from None
    except Exception as exc:  # Pillow raises many types for bad headers
        raise DigitsError(f"{name}: not a readable image ({_reason(exc)})") from None
    with img:
        _check_size(img.width, img.height, name)
        return _decode(img, name)


def _reason(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]


def _check_size(width: int, height: int, name: str) -> None:
    if width < 1 or height < 1:
        raise DigitsError(f"{name}: image has no pixels ({width}x{height})")
    if width * height > MAX_PIXELS or max(width, height) > MAX_SIDE:
        raise DigitsError(
            f"{name}: image too large ({width}x{height} pixels; limit {MAX_PIXELS:,} pixels, {MAX_SIDE} a side)"
        )


def _decode(img: Image.Image, name: str) -> np.ndarray:
    try:
        if getattr(img, "n_frames", 1) > 1:
            img.seek(0)  # animated or multi-page: the first frame, documented above
        img.load()
        return _pil_to_gray(img)
    except DigitsError:
        raise
    except Image.DecompressionBombError:
        raise DigitsError(f"{name}: image too large (decompression bomb refused)") from None
    except MemoryError:
        raise DigitsError(f"{name}: image too large to decode") from None
    except Exception as exc:  # truncated data, broken chunks, unsupported modes
        raise DigitsError(f"{name}: not a readable image ({_reason(exc)})") from None


def _pil_to_gray(img: Image.Image) -> np.ndarray:
    try:
        img = ImageOps.exif_transpose(img)
    except Exception:  # a corrupt EXIF block must not lose the picture
        pass
    mode = img.mode
    if mode.startswith("I;16") or mode in ("I", "F"):
        arr = np.asarray(img, dtype=np.float32)
        if mode.startswith("I;16"):
            top = 65535.0
        elif mode == "F":
            top = 1.0 if np.nanmax(arr) <= 1.0 else float(np.nanmax(arr))
        else:
            top = 255.0 if np.nanmax(arr) <= 255 else 65535.0
        return _finite(np.clip(arr / top, 0.0, 1.0))
    if mode == "P" or mode == "PA":
        img = img.convert("RGBA")
    elif mode in ("CMYK", "YCbCr", "LAB", "HSV"):
        img = img.convert("RGB")
    elif mode == "La":
        img = img.convert("LA")
    elif mode == "RGBa":
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA") and img.getchannel("A").getextrema()[0] < 255:  # opaque: alpha changes nothing
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, img.convert("RGBA"))
    return np.asarray(img.convert("L"), dtype=np.float32) / 255.0


def _finite(arr: np.ndarray) -> np.ndarray:
    return np.nan_to_num(arr, nan=0.0, posinf=1.0, neginf=0.0).astype(np.float32)


def _array_to_gray(arr: np.ndarray) -> np.ndarray:
    arr = np.asarray(arr)
    if arr.dtype == np.float32 and arr.ndim == 2 and arr.size:
        # already gray in [0, 1] (what load_image returns): used as is, not copied and clipped again;
        # NaN fails both comparisons and takes the cleaning path below
        if float(arr.min()) >= 0.0 and float(arr.max()) <= 1.0:
            _check_size(arr.shape[1], arr.shape[0], "image array")
            return arr
    if arr.dtype == bool:
        arr = arr.astype(np.float32)
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise DigitsError(f"expected a numeric image array, got dtype {arr.dtype}")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim == 3 and arr.shape[2] in (2, 3, 4):
        if arr.size == 0:
            raise DigitsError(f"image array has no pixels (shape {arr.shape})")
        _check_size(arr.shape[1], arr.shape[0], "image array")
        scale = 255.0 if arr.dtype == np.uint8 or np.nanmax(arr) > 1.0 else 1.0
        x = _finite(arr.astype(np.float32) / scale)
        if arr.shape[2] == 2:  # gray + alpha
            gray, alpha = x[..., 0], x[..., 1]
        else:
            gray = x[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
            alpha = x[..., 3] if arr.shape[2] == 4 else None
        if alpha is not None:  # transparent pixels are white paper
            gray = gray * alpha + (1.0 - alpha)
        return np.clip(gray, 0.0, 1.0).astype(np.float32)
    if arr.ndim != 2:
        raise DigitsError(f"expected a 2-D grayscale or HxWx3 image, got shape {arr.shape}")
    if arr.size == 0:
        raise DigitsError(f"image array has no pixels (shape {arr.shape})")
    _check_size(arr.shape[1], arr.shape[0], "image array")
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / 255.0
    if arr.dtype == np.uint16:
        return arr.astype(np.float32) / 65535.0
    x = _finite(arr.astype(np.float32))
    top = float(x.max())
    return np.clip(x / 255.0 if top > 1.0 else x, 0.0, 1.0)


# ---------------------------------------------------------------- small image operations
# numpy-only versions of the few scipy.ndimage operations the reading path needs: importing
# scipy.ndimage costs ~0.25 s of CPU, half of `digits predict`'s whole cold start.


def _window(arr: np.ndarray, size: int, reduce) -> np.ndarray:
    """``reduce`` (np.min, np.max, np.median, np.mean) over ``size`` x ``size`` windows, edges repeated."""
    size = max(1, int(size))
    before = size // 2
    padded = np.pad(arr, ((before, size - 1 - before), (before, size - 1 - before)), mode="edge")
    if reduce is np.mean:  # separable: rows then columns
        return _running_mean(_running_mean(padded, size), size, axis=1).astype(np.float32)
    if reduce in (np.min, np.max):
        op = np.minimum if reduce is np.min else np.maximum
        return _running_extreme(_running_extreme(padded, size, op), size, op, axis=1).astype(np.float32)
    windows = np.lib.stride_tricks.sliding_window_view(padded, (size, size))
    return reduce(windows, axis=(2, 3)).astype(np.float32)


def _running_extreme(a: np.ndarray, size: int, op, axis: int = 0) -> np.ndarray:
    """``op`` (np.minimum or np.maximum) over runs of ``size`` along ``axis``: length shrinks by size - 1.

    Doubling spans: O(log size) whole-array operations instead of one per window element.
    """
    if axis == 1:
        return _running_extreme(a.T, size, op).T
    span = 1
    while 2 * span <= size:
        a, span = op(a[:-span], a[span:]), 2 * span
    rest = size - span  # the last window of ``span`` starts ``rest`` later
    return op(a[: len(a) - rest], a[rest:]) if rest else a


def _running_mean(a: np.ndarray, size: int, axis: int = 0) -> np.ndarray:
    """Mean over runs of ``size`` along ``axis`` (prefix sums): length shrinks by size - 1."""
    if axis == 1:
        return _running_mean(a.T, size).T
    c = np.cumsum(a, axis=0, dtype=np.float64)
    c = np.concatenate([np.zeros((1,) + a.shape[1:]), c])
    return (c[size:] - c[:-size]) / size


def _dilate3(mask: np.ndarray) -> np.ndarray:
    """3x3 binary dilation."""
    out = mask.copy()
    out[1:] |= mask[:-1]
    out[:-1] |= mask[1:]
    rows = out.copy()
    out[:, 1:] |= rows[:, :-1]
    out[:, :-1] |= rows[:, 1:]
    return out


def _erode_padded(p: np.ndarray, cross: bool) -> None:
    """One erosion step, in place, of the interior of a mask padded by one pixel (the border stays put)
    by a 3x3 square or a plus-shaped cross."""
    out = p[1:-1, 1:-1] & p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:]
    if not cross:
        out &= p[:-2, :-2] & p[:-2, 2:] & p[2:, :-2] & p[2:, 2:]
    p[1:-1, 1:-1] = out


def _distance(mask: np.ndarray, limit: int | None = None, outside: bool = False) -> np.ndarray:
    """Distance of each True pixel to the nearest False one, in pixels (beyond the edges: ``outside``).

    Alternating square and cross erosions give the octagonal distance, within ~8% of Euclidean,
    plenty for stroke widths. ``limit`` stops counting there.
    """
    dist = np.zeros(mask.shape, np.float32)
    padded = np.pad(mask, 1, constant_values=outside)
    current = padded[1:-1, 1:-1]  # a view: erosion updates it
    step = 0
    while current.any() and (limit is None or step < limit):
        dist += current
        _erode_padded(padded, cross=step % 2 == 0)
        step += 1
    return dist


def _label(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """8-connected components of ``mask``: (component of each pixel, ys, xs, count).

    Works on horizontal runs of pixels: runs in neighbouring rows that overlap (or touch
    diagonally) are joined by union-find with pointer jumping, all in numpy.
    """
    h, w = mask.shape
    edges = np.diff(np.pad(mask, ((0, 0), (1, 1))).astype(np.int8), axis=1)
    rows_s, starts = np.nonzero(edges == 1)
    _, ends = np.nonzero(edges == -1)  # exclusive; runs come out in the same row-major order
    n = len(starts)
    if n == 0:
        empty = np.zeros(0, np.int64)
        return empty, empty, empty, 0
    stride = w + 2
    key_start = rows_s * stride + starts
    key_end = rows_s * stride + ends
    # for each run b, the runs a in the row above with a.start <= b.end and b.start <= a.end (8-connected)
    base = (rows_s - 1) * stride
    lo = np.searchsorted(key_end, base + starts - 1, side="right")
    hi = np.searchsorted(key_start, base + ends + 1, side="left")
    above = rows_s > 0
    lo, hi = np.where(above, lo, 0), np.where(above, np.maximum(hi, lo), 0)
    counts = hi - lo
    b = np.repeat(np.arange(n), counts)
    a = np.repeat(lo, counts) + (np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts))
    parent = np.arange(n)
    while True:
        m = np.minimum(parent[a], parent[b])
        before = parent.copy()
        np.minimum.at(parent, a, m)
        np.minimum.at(parent, b, m)
        while True:  # pointer jumping
            jumped = parent[parent]
            if np.array_equal(jumped, parent):
                break
            parent = jumped
        if np.array_equal(parent, before):
            break
    _, comp_of_run = np.unique(parent, return_inverse=True)
    lengths = ends - starts
    ys = np.repeat(rows_s, lengths)
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    xs = np.repeat(starts, lengths) + offsets
    return np.repeat(comp_of_run, lengths), ys, xs, int(comp_of_run.max()) + 1


# ---------------------------------------------------------------- ink


def _resize(arr: np.ndarray, size: tuple[int, int], resample=Image.BILINEAR) -> np.ndarray:
    """Resize a float image to ``size`` = (width, height); area averaging when shrinking."""
    img = Image.fromarray(np.asarray(arr, dtype=np.float32), mode="F")
    if size[0] < arr.shape[1] and size[1] < arr.shape[0]:
        resample = Image.BOX
    return np.asarray(img.resize(size, resample), dtype=np.float32)


def find_ink(gray: np.ndarray, work_side: int = WORK_SIDE, quick_side: int | None = QUICK_SIDE) -> InkMap:
    """Locate the strokes in a grayscale image of either polarity.

    Parameters
    ----------
    gray : ndarray (H, W) float in [0, 1]
    work_side : int
        Larger images are first shrunk (area averaging) so their longer side is this long.
    quick_side : int, optional
        For a drawing on pure white or black paper, first look at this (lower) resolution and keep what
        is found there when its strokes and digits are big enough to lose nothing: a few times less work.

    Returns
    -------
    InkMap
        ``mask`` is all False when the image holds no ink (blank, uniform or pure noise).
    """
    gray = np.asarray(gray, dtype=np.float32)
    if quick_side and max(gray.shape) > 1.5 * quick_side and quick_side < work_side:
        paper = _screen_paper(gray)
        if paper is not None:
            quick = _find_ink_at(gray, quick_side, paper)
            if _resolved(quick):
                return quick
    return _find_ink_at(gray, work_side)


def _screen_paper(gray: np.ndarray) -> float | None:
    """The paper's gray level when it is pure white or black, as drawn on a screen (photographed or
    scanned paper never is); otherwise ``None``."""
    paper = float(np.median(gray[::4, ::4]))
    return paper if paper >= 0.98 or paper <= 0.02 else None


def _resolved(inkmap: InkMap) -> bool:
    """Whether ink found at a low resolution is as good as at a higher one: no noise, wide strokes, tall pieces."""
    if inkmap.pieces is None or not inkmap.mask.any() or inkmap.noise > QUICK_NOISE:
        return False
    comp, ys, _, count = inkmap.pieces
    top, bottom = np.full(count, ys.max()), np.zeros(count, ys.dtype)
    np.minimum.at(top, comp, ys)
    np.maximum.at(bottom, comp, ys)
    return int((bottom - top).max()) + 1 >= QUICK_HEIGHT and stroke_width(inkmap.mask) >= QUICK_STROKE


def _find_ink_at(gray: np.ndarray, work_side: int, paper: float | None = None) -> InkMap:
    """:func:`find_ink` at one working resolution; ``paper``: the level of flat screen paper, when known
    (its polarity and background need no estimate)."""
    shape = gray.shape
    scale = 1.0
    if max(shape) > work_side:
        scale = max(shape) / work_side
        size = (max(1, round(shape[1] / scale)), max(1, round(shape[0] / scale)))
        gray = _resize(gray, size)
    h, w = gray.shape
    empty = InkMap(np.zeros_like(gray), np.zeros(gray.shape, bool), scale, shape)
    # Every filter below stays within the image's range, so ink (a residual `level` >= 0.12 over a
    # median >= -range) needs a range of at least 0.06: a blank or near-uniform image stops here.
    if min(h, w) < 3 or float(gray.max()) - float(gray.min()) < 0.06:
        return empty

    dark_ink = paper >= 0.5 if paper is not None else _dark_ink(gray)
    value = 1.0 - gray if dark_ink else gray
    # flat screen paper: ink is whatever departs from it; otherwise, from an estimated background
    resid = value - ((1.0 - paper if dark_ink else paper) if paper is not None else _background(value))

    # Noise from the background pixels; ink must stand well above it. A regular sample of 10,000-40,000
    # pixels gives the same median and spread as all of them, at a fraction of the cost.
    step = max(1, int(np.sqrt(resid.size / 10_000)))
    sample = resid[::step, ::step]
    center = float(np.median(sample))
    sigma = 1.4826 * float(np.median(np.abs(sample - center))) + 1e-4
    candidates = resid > center + max(4 * sigma, 0.06)
    if candidates.sum() < 3:
        return empty
    level = float(np.percentile(resid[candidates], 90)) - center
    if level < max(0.12, 8 * sigma):
        return empty  # faint blotches or noise only: no stroke clearly above the paper
    # Hysteresis: weak pixels count when connected to strong ones, so thin or blurred strokes survive.
    strong = resid > center + 0.5 * level
    weak = resid > center + max(0.25 * level, 3 * sigma)
    comp, ys, xs, count = _label(weak)
    keep = np.zeros(count, bool)
    keep[comp[strong[ys, xs]]] = True
    kept = keep[comp]
    mask = np.zeros(weak.shape, bool)
    mask[ys[kept], xs[kept]] = True
    # the mask's 8-connected pieces are the kept components: segmentation need not label them again
    pieces = ((np.cumsum(keep) - 1)[comp[kept]], ys[kept], xs[kept], int(keep.sum()))
    low = center + max(0.1 * level, 2 * sigma)
    soft = np.clip((resid - low) / max(1e-6, level - (low - center)), 0.0, 1.0)
    near = _dilate3(mask)  # anti-aliased edges just outside the mask
    ink = np.where(near, soft, 0.0).astype(np.float32)
    ink[mask] = np.maximum(ink[mask], 0.05)
    return InkMap(ink, mask, scale, shape, pieces, sigma)


def _dark_ink(gray: np.ndarray) -> bool:
    """Polarity: the ink is the heavy tail of the residual from a large median (polarity-blind)."""
    h, w = gray.shape
    tiny_scale = max(1.0, max(h, w) / 24)  # a 24 px copy is plenty for a half-image median
    tw, th = max(1, round(w / tiny_scale)), max(1, round(h / tiny_scale))
    tiny = _resize(gray, (tw, th)) if tiny_scale > 1 else gray
    med = _window(tiny, max(3, (min(th, tw) // 2) | 1), np.median)
    resid = (gray - (_resize(med, (w, h)) if tiny_scale > 1 else med)).ravel().astype(np.float64)
    return float(np.dot(resid * resid, resid)) < 0  # the sign of the third moment


def _background(value: np.ndarray) -> np.ndarray:
    """Background of an ink-positive image: an opening far wider than a stroke removes the strokes
    and keeps slow illumination changes (a linear ramp survives an opening unchanged)."""
    h, w = value.shape
    # on a coarse copy, ~64 px on the long side (area averaging keeps it noise-free)
    coarse_scale = max(1.0, max(h, w) / 64)
    cw, ch = max(1, round(w / coarse_scale)), max(1, round(h / coarse_scale))
    coarse = _resize(value, (cw, ch)) if coarse_scale > 1 else value
    element = max(3, min(ch, cw) // 4) | 1
    background = _window(_window(coarse, element, np.min), element, np.max)
    background = _window(background, max(3, element // 2) | 1, np.mean)
    return _resize(background, (w, h)) if coarse_scale > 1 else background


def ink_map(gray: np.ndarray) -> np.ndarray:
    """Ink intensity in [0, 1] (1 = full ink), whatever the polarity of the input, same shape as ``gray``."""
    return find_ink(gray, work_side=max(np.asarray(gray).shape + (1,)), quick_side=None).ink


# ---------------------------------------------------------------- normalisation


def stroke_width(mask: np.ndarray) -> float:
    """Typical stroke width of a binary mask in pixels: twice the distance transform on the stroke ridges."""
    if not mask.any():
        return 0.0
    dist = _distance(mask)
    ridge = mask & (dist >= _window(dist, 3, np.max))
    return max(1.0, 2.0 * float(np.median(dist[ridge])) - 1.0)


def _adjust_stroke(crop: np.ndarray, box_scale: float) -> np.ndarray:
    """Thicken or thin a soft ink crop so its strokes become MNIST-like once scaled by ``box_scale``."""
    mask = crop > 0.35
    if mask.sum() < 3:
        return crop
    width = stroke_width(mask)
    target = MNIST_STROKE / box_scale  # wanted width in crop pixels
    if STROKE_RANGE[0] * target <= width <= STROKE_RANGE[1] * target:
        return crop
    if width < target:  # thin pen: grow the strokes with a soft edge
        radius = (target - width) / 2.0
        dist = _distance(~mask, limit=int(np.ceil(radius)) + 2, outside=True)  # counted far enough
        grown = np.clip(radius + 0.5 - dist, 0.0, 1.0)
        return np.maximum(crop, grown).astype(np.float32)
    # marker: thin the strokes, but never below half their width (keeps them connected)
    radius = min((width - target) / 2.0, width / 4.0)
    dist = _distance(mask)
    thinned = np.clip(dist - radius + 0.5, 0.0, 1.0) * crop
    return thinned.astype(np.float32) if thinned.max() > 0 else crop


def normalize_digit(ink: np.ndarray, stroke: bool = True) -> np.ndarray | None:
    """Crop ``ink`` to its strokes and place it in a 28x28 frame as MNIST did; ``None`` if blank.

    Parameters
    ----------
    ink : ndarray (H, W) in [0, 1], ink bright
    stroke : bool
        Bring strokes far thinner or thicker than MNIST's (after scaling) to MNIST's width.
    """
    ink = np.asarray(ink, dtype=np.float32)
    ys, xs = np.nonzero(ink > 0)
    if len(xs) == 0:
        return None
    crop = ink[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    # Work at no more than 8x the final size: thinner-than-a-pixel strokes stay visible (area averaging).
    limit = 8 * BOX
    if max(crop.shape) > limit:
        f = limit / max(crop.shape)
        crop = _resize(crop, (max(1, round(crop.shape[1] * f)), max(1, round(crop.shape[0] * f))))
        crop = np.clip(crop / max(1e-6, float(np.percentile(crop[crop > 0.05], 95)) if (crop > 0.05).any() else 1.0), 0, 1)
    h, w = crop.shape
    scale = BOX / max(h, w)
    if stroke and max(h, w) >= 2 * BOX:
        pad = int(np.ceil(MNIST_STROKE / scale))
        crop = _adjust_stroke(np.pad(crop, pad), scale)
        ys, xs = np.nonzero(crop > 0)
        crop = crop[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
        h, w = crop.shape
        scale = BOX / max(h, w)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    resized = Image.fromarray(crop.astype(np.float32), mode="F").resize((new_w, new_h), Image.LANCZOS)
    digit = np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)
    total = float(digit.sum())
    if total <= 0:
        return None
    cy = (digit.sum(axis=1) * np.arange(new_h)).sum() / total
    cx = (digit.sum(axis=0) * np.arange(new_w)).sum() / total
    top = int(round(SIZE / 2 - cy))
    left = int(round(SIZE / 2 - cx))
    top = min(max(top, 0), SIZE - new_h)
    left = min(max(left, 0), SIZE - new_w)
    frame = np.zeros((SIZE, SIZE), dtype=np.float32)
    frame[top : top + new_h, left : left + new_w] = digit
    return frame


def deskew(image: np.ndarray) -> np.ndarray:
    """Shear a 28x28 digit so its principal axis is vertical (image moments, as in LeCun et al.)."""
    from scipy.ndimage import affine_transform

    img = np.asarray(image, dtype=np.float32)
    total = img.sum()
    if total <= 0:
        return img
    ys, xs = np.mgrid[: img.shape[0], : img.shape[1]]
    cy, cx = (ys * img).sum() / total, (xs * img).sum() / total
    var_y = (((ys - cy) ** 2) * img).sum() / total
    cov = ((xs - cx) * (ys - cy) * img).sum() / total
    if var_y < 1e-6:
        return img
    alpha = cov / var_y
    center = np.array(img.shape) / 2.0
    matrix = np.array([[1.0, 0.0], [alpha, 1.0]])
    offset = np.array([cy, cx]) - matrix @ center
    return affine_transform(img, matrix, offset=offset, order=1, mode="constant").astype(np.float32)


# ---------------------------------------------------------------- whole pipeline


def _gray(source) -> np.ndarray:
    return load_image(source)


def prepare_single(source) -> Digit | None:
    """The whole image as one digit (specks dropped); ``None`` when it holds no ink."""
    from handwritten_digits.segment import digit_components, to_input_box

    inkmap = find_ink(_gray(source))
    keep = digit_components(inkmap)
    if keep is None:
        return None
    ink = np.where(keep, inkmap.ink, 0.0)
    image = normalize_digit(ink)
    if image is None:
        return None
    ys, xs = np.nonzero(keep)
    box = to_input_box((int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1), inkmap)
    return Digit(image=image, box=box)


def extract_digits(source, scorer=None) -> list[Digit]:
    """Every digit in the image, left to right.

    Parameters
    ----------
    source : path, bytes, PIL image or array
    scorer : callable, optional
        ``scorer(images (N, 28, 28)) -> probabilities (N, 10)``; when given, it chooses where
        touching digits are cut (see :func:`handwritten_digits.segment.segment`).
    """
    from handwritten_digits.segment import segment

    return segment(find_ink(_gray(source)), scorer=scorer)
