"""Digits as coarse scans keep them: a few pixels a side, in black and white or a few grey levels.

Old forms, fax-like scans and small digits in a photo reach the model from a handful of pixels.
The public sets made that way (USPS at 16x16, Semeion at 16x16 in black and white, optdigits as
8x8 counts of a 32x32 bitmap) are read much worse than MNIST by a model that never saw such
inputs: MNIST's own validation digits, binarised at 16x16 and read back, lose about four points.
Each digit here is fitted to a small square the way those sets were made and read back through
:func:`~handwritten_digits.data.external.to_mnist`, as the benchmarks read those sets.

>>> images, labels = coarse_inputs(train_images, train_labels, n=20000, seed=0)
"""

from __future__ import annotations

import cv2
import numpy as np

from handwritten_digits.data.external import to_mnist

SIDES = (8, 10, 12, 14, 16, 16, 20)  # pixels a side; 16 (USPS, Semeion) most often
BINARY = 0.5  # share drawn in black and white (the rest in grey, half of that in 17 levels)
STRETCH = 0.5  # share stretched to fill the square (optdigits, Semeion); the rest keeps its aspect


def block_counts(bitmaps: np.ndarray, block: int = 4) -> np.ndarray:
    """Black-and-white bitmaps (N, H, W) as the share of ink in each ``block`` x ``block`` square:
    how optdigits' 32x32 bitmaps became scikit-learn's 8x8 ``load_digits``."""
    n, h, w = bitmaps.shape
    return bitmaps.reshape(n, h // block, block, w // block, block).mean(axis=(2, 4)).astype(np.float32)


def coarse_digit(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One digit (ink in [0, 1]) fitted to a random small square and quantised, ink in [0, 1]."""
    ys, xs = np.nonzero(image > 0.1)
    if len(ys) == 0:
        return np.zeros((16, 16), np.float32)
    digit = image[ys.min():ys.max() + 1, xs.min():xs.max() + 1].astype(np.float32)
    side = int(rng.choice(SIDES))
    if rng.random() < STRETCH:
        small = cv2.resize(digit, (side, side), interpolation=cv2.INTER_AREA)
    else:
        h, w = digit.shape
        scale = side / max(h, w)
        fitted = cv2.resize(digit, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
        small = np.zeros((side, side), np.float32)
        top, left = (side - fitted.shape[0]) // 2, (side - fitted.shape[1]) // 2
        small[top:top + fitted.shape[0], left:left + fitted.shape[1]] = fitted
    kind = rng.random()
    if kind < BINARY:
        return (small >= rng.uniform(0.3, 0.6)).astype(np.float32)
    if kind < BINARY + (1 - BINARY) / 2:
        return np.round(small * 16) / 16
    return np.clip(small, 0, 1)


def coarse_inputs(images: np.ndarray, labels: np.ndarray, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` digits drawn from ``images`` (MNIST-style, (N, 28, 28)) as coarse scans, read back as
    model inputs ((n, 28, 28) float32) with their ``labels``."""
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(labels), size=n, replace=n > len(labels))
    inks = [coarse_digit(images[i], rng) for i in pick]
    return to_mnist(inks), np.asarray(labels)[pick].astype(np.int64)


def coarse_validation(digits, seed: int = 0, external_dir=None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Validation digits as coarse scans, for choosing a model: MNIST's validation ``digits`` drawn by
    :func:`coarse_inputs` (``"coarse"``), and optdigits' validation writers as 8x8 counts of their
    bitmaps (``"optdigits_8x8"``), the way scikit-learn's ``load_digits`` was made from other writers."""
    from handwritten_digits.data.external import locate_external
    from handwritten_digits.data.writers import OPTDIGITS_FILE, optdigits_writer_cut, read_optdigits

    bitmaps, labels = read_optdigits(locate_external(external_dir) / OPTDIGITS_FILE)
    cut = optdigits_writer_cut(bitmaps, labels)
    return {"coarse": coarse_inputs(*digits, len(digits[1]), seed=seed),
            "optdigits_8x8": (to_mnist(block_counts(bitmaps[cut:].astype(np.float32))), labels[cut:].astype(np.int64))}
