"""Stage 4, normalize: a piece's soft-ink crop -> the 28x28 input a model sees, the way MNIST was made.

The model contract: float32 images of shape (28, 28) in [0, 1], ink bright on a dark background, the
digit scaled into a 20x20 box and centred by its centre of mass in the 28x28 frame, strokes about as
thick as MNIST's. Models standardise with ``MNIST_MEAN`` and ``MNIST_STD`` inside their own graph, so
every caller feeds the same [0, 1] images.

The last resize stays Pillow's Lanczos: it widens its kernel when shrinking (anti-aliasing), where
OpenCV's Lanczos does not and loses thin strokes.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from handwritten_digits.reading import decode, ink, segment
from handwritten_digits.reading.ink import distance, resize, stroke_width

MNIST_MEAN = 0.1307  # mean pixel of the MNIST training images, scaled to [0, 1]
MNIST_STD = 0.3081  # and their standard deviation
SIZE = 28  # the model's input frame
BOX = 20  # MNIST fits each digit's longer side into this box
# MNIST strokes, measured by ``stroke_width`` on 4x upsampled MNIST test digits in the 20x20 box,
# divided by 4: median 2.25 px, 10th-90th percentile 1.55-3.25 px.
MNIST_STROKE = 2.25
STROKE_RANGE = (0.6, 1.8)  # strokes within these multiples of MNIST_STROKE are left alone


@dataclass
class Digit:
    """One digit found in an image: the model-ready 28x28 input and its box in input pixels."""

    image: np.ndarray  # (28, 28) float32 in [0, 1]
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive)


def prepare_single(source) -> Digit | None:
    """The whole image (specks dropped) as one digit's model input; ``None`` when it holds no ink."""
    piece, box = segment.whole(ink.find_ink(decode.decode(source, max_side=ink.WORK_SIDE)))
    image = normalize_digit(piece.crop()) if piece is not None else None
    return Digit(image, box) if image is not None else None


def extract_digits(source, scorer=None) -> list[Digit]:
    """Every digit's model input, left to right, for building training data (reading goes through the reader).

    ``scorer(images (N, 28, 28)) -> (N,) or (N, 10)``: how surely each input is one digit read right,
    to guide the cuts of touching digits; without it, pieces are cut by shape alone.
    """

    def score(pieces) -> np.ndarray:
        s = np.asarray(scorer(np.stack([piece_input(p, blank=True) for p in pieces])))
        return s.max(axis=1) if s.ndim == 2 else s

    found = segment.segment(ink.find_ink(decode.decode(source, max_side=ink.WORK_SIDE)), score=score if scorer else None)
    digits = [Digit(piece_input(p), box) for p, box in zip(found.pieces, found.boxes)]
    return [d for d in digits if d.image is not None]


def piece_input(piece, blank: bool = False) -> np.ndarray | None:
    """A segmented piece's 28x28 input, normalized once and kept in its memo; ``blank``: zeros instead of ``None``."""
    if "input" not in piece.memo:
        piece.memo["input"] = normalize_digit(piece.crop())
    image = piece.memo["input"]
    return np.zeros((SIZE, SIZE), np.float32) if image is None and blank else image


def normalize_digit(ink: np.ndarray, stroke: bool = True) -> np.ndarray | None:
    """Crop ``ink`` to its strokes and place it in a 28x28 frame as MNIST did; ``None`` if blank.

    Parameters
    ----------
    ink : ndarray (H, W) in [0, 1], ink bright
    stroke : bool
        Bring strokes far thinner or thicker than MNIST's (after scaling) to MNIST's width.
    """
    ink = np.asarray(ink, dtype=np.float32)
    crop = _tight(ink > 0, ink)
    if crop is None:
        return None
    # Work at no more than 8x the final size: thinner-than-a-pixel strokes stay visible (area averaging).
    limit = 8 * BOX
    if max(crop.shape) > limit:
        f = limit / max(crop.shape)
        crop = resize(crop, (max(1, round(crop.shape[1] * f)), max(1, round(crop.shape[0] * f))))
        strong = crop[crop > 0.05]
        crop = np.clip(crop / max(1e-6, float(np.percentile(strong, 95)) if strong.size else 1.0), 0, 1)
    h, w = crop.shape
    scale = BOX / max(h, w)
    if stroke and max(h, w) >= 2 * BOX:
        pad = int(np.ceil(MNIST_STROKE / scale))
        crop = _adjust_stroke(np.pad(crop, pad), scale)
        crop = _tight(crop > 0, crop)
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
    top = min(max(int(round(SIZE / 2 - cy)), 0), SIZE - new_h)
    left = min(max(int(round(SIZE / 2 - cx)), 0), SIZE - new_w)
    frame = np.zeros((SIZE, SIZE), dtype=np.float32)
    frame[top : top + new_h, left : left + new_w] = digit
    return frame


def _tight(mask: np.ndarray, arr: np.ndarray) -> np.ndarray | None:
    """``arr`` cropped to the bounding box of ``mask``; ``None`` when the mask is empty."""
    x, y, w, h = cv2.boundingRect(mask.view(np.uint8))
    return arr[y : y + h, x : x + w] if w and h else None


def _adjust_stroke(crop: np.ndarray, box_scale: float) -> np.ndarray:
    """Thicken or thin a soft ink crop so its strokes become MNIST-like once scaled by ``box_scale``."""
    mask = crop > 0.35
    if np.count_nonzero(mask) < 3:
        return crop
    width = stroke_width(mask)
    target = MNIST_STROKE / box_scale  # wanted width in crop pixels
    if STROKE_RANGE[0] * target <= width <= STROKE_RANGE[1] * target:
        return crop
    if width < target:  # thin pen: grow the strokes with a soft edge
        radius = (target - width) / 2.0
        dist = distance(~mask, outside=True)
        grown = np.clip(radius + 0.5 - dist, 0.0, 1.0)
        return np.maximum(crop, grown).astype(np.float32)
    # marker: thin the strokes, but never below half their width (keeps them connected)
    radius = min((width - target) / 2.0, width / 4.0)
    thinned = np.clip(distance(mask) - radius + 0.5, 0.0, 1.0) * crop
    return thinned.astype(np.float32) if thinned.max() > 0 else crop


def deskew(image: np.ndarray) -> np.ndarray:
    """Shear a 28x28 digit so its principal axis is vertical (image moments, as in LeCun et al.)."""
    img = np.asarray(image, dtype=np.float32)
    m = cv2.moments(img)
    if m["m00"] <= 0 or m["mu02"] / m["m00"] < 1e-6:
        return img
    alpha = m["mu11"] / m["mu02"]
    cy, cx = m["m01"] / m["m00"], m["m10"] / m["m00"]
    center = img.shape[0] / 2.0, img.shape[1] / 2.0
    # output (x, y) samples input (x + alpha * y + ox, y + oy): the shear that centres the mass
    matrix = np.array([[1.0, alpha, cx - center[1] - alpha * center[0]], [0.0, 1.0, cy - center[0]]])
    return cv2.warpAffine(img, matrix, img.shape[::-1], flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)
