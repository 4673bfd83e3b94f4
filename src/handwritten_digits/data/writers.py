"""Extra writers for training: pendigits, optdigits and USPS train as MNIST-style inputs, split by writer.

Each source gives float32 images (N, 28, 28) in [0, 1], ink bright, as
``reading.normalize.normalize_digit`` makes them, and int64 labels, with a validation hold-out:

========== ======= ===== =====================================================================
source     train   val   hold-out
========== ======= ===== =====================================================================
pendigits  5,997   1,497 6 of the 30 writers (the file names each digit's writer), chosen by seed
optdigits  1,552   382   the last ~6 of 30 writer blocks (see :func:`optdigits_writer_cut`)
usps       6,196   1,095 15% of zip.train, stratified by label, by seed (no writer information)
========== ======= ===== =====================================================================

USPS zip.test is never returned here: it is the USPS evaluation set (``load_external("usps-test")``).

>>> from handwritten_digits.data.writers import load_writers
>>> images, labels = load_writers("optdigits", "train")
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np

from handwritten_digits.data.external import load_external, locate_external, to_mnist
from handwritten_digits.data.pendigits import FILE as PENDIGITS_FILE
from handwritten_digits.data.pendigits import digit_inputs, read_pendigits
from handwritten_digits.errors import DigitsError

SOURCES = ("pendigits", "optdigits", "usps")
SPLITS = ("train", "val")
OPTDIGITS_FILE = Path("optdigits") / "optdigits-orig.tra"
PENDIGITS_VAL_WRITERS = 6  # of 30: the same fifth held out as for optdigits
OPTDIGITS_VAL_FRACTION = 0.2
USPS_VAL_FRACTION = 0.15
SIDE = 32  # optdigits bitmaps are 32x32


def read_optdigits(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Parse ``optdigits-orig.tra``: a header, then per digit 32 lines of 32 ``0``/``1`` and a label line.

    Parameters
    ----------
    path : path
        The header is free text and ``key = value`` lines; when it states ``ndigit`` the file must hold
        that many digits (a truncated download is an error, not a smaller set).

    Returns
    -------
    bitmaps : ndarray (N, 32, 32) uint8, 1 is ink
    labels : ndarray (N,) int64
        In file order.
    """
    try:
        lines = Path(path).read_text().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DigitsError(f"{path}: cannot read ({exc})") from None

    def is_row(line: str) -> bool:
        return len(line) == SIDE and set(line) <= {"0", "1"}

    start = next((i for i, line in enumerate(lines) if is_row(line.strip())), None)
    if start is None:
        raise DigitsError(f"{path}: no 32x32 bitmaps found (not an optdigits-orig file)")
    header = dict(line.split("=", 1) for line in lines[:start] if "=" in line)
    header = {k.strip(): v.strip() for k, v in header.items()}
    body = [(n, line.strip()) for n, line in enumerate(lines[start:], start + 1) if line.strip()]
    bitmaps, labels = [], []
    for first in range(0, len(body), SIDE + 1):
        block = body[first:first + SIDE + 1]
        bad = next(((n, line) for n, line in block[:SIDE] if not is_row(line)), None)
        if bad is None and len(block) <= SIDE:
            bad = (block[-1][0], "end of file before the label line")
        if bad is None and not (block[-1][1].isdigit() and len(block[-1][1]) == 1):
            bad = block[-1]
        if bad is not None:
            raise DigitsError(f"{path}:{bad[0]}: expected 32 rows of 32 '0'/'1' then a label 0-9, found {bad[1]!r}")
        bitmaps.append([[c == "1" for c in line] for _, line in block[:SIDE]])
        labels.append(int(block[-1][1]))
    stated = header.get("ndigit")
    if stated is not None and stated.isdigit() and int(stated) != len(labels):
        raise DigitsError(f"{path}: the header says {stated} digits, the file holds {len(labels)} (truncated?)")
    return np.array(bitmaps, dtype=np.uint8), np.array(labels, dtype=np.int64)


def optdigits_writer_cut(bitmaps: np.ndarray, labels: np.ndarray, fraction: float = OPTDIGITS_VAL_FRACTION,
                         window: int = 30, reach: int = 48) -> int:
    """Where the validation tail starts: the likeliest change of writer near ``1 - fraction`` of the file.

    The file names no writers (its header and the UCI notes only say 1,934 digits by 30 writers), but
    the digits are stored writer by writer: two digits with the same label are far more alike (cosine
    of their residuals from the label's mean bitmap) within ~60 positions of each other (0.21 within 10,
    0.08 at 30-60) than further apart (-0.01 beyond 100), label counts in 64-digit windows are more
    even than in a shuffled file (each writer filled a balanced form), and the points where the
    likeness drops split the file into 30 blocks of 52-81 digits (mean 64.5 = 1,934 / 30). So a
    contiguous tail cut at such a drop holds out whole writers: the last 382 digits, ~6 writers.

    Parameters
    ----------
    bitmaps : ndarray (N, 32, 32)
    labels : ndarray (N,)
    fraction : float
        Of the file to hold out, roughly.
    window : int
        Digits each side of a candidate cut compared.
    reach : int
        How far from the exact fraction a cut may move: under one writer's ~64 digits.

    Returns
    -------
    int
        The first validation digit's position; the exact fraction when the file is too short to tell.
    """
    n = len(labels)
    target = round(n * (1 - fraction))
    if n < 4 * window + 2 * reach:
        return target
    residual = bitmaps.reshape(n, -1).astype(np.float32)
    for label in np.unique(labels):
        residual[labels == label] -= residual[labels == label].mean(axis=0)
    residual /= np.maximum(np.linalg.norm(residual, axis=1, keepdims=True), 1e-6)
    likeness = residual @ residual.T
    same = labels[:, None] == labels[None, :]

    def mean(a: slice, b: slice) -> float:
        mask = np.triu(same[a, b], 1) if a == b else same[a, b]
        return float(likeness[a, b][mask].mean()) if mask.any() else 0.0

    def change(t: int) -> float:
        # a writer change: digits are like their neighbours on each side and unlike those across the cut
        before, after = slice(t - window, t), slice(t, t + window)
        return (mean(before, before) + mean(after, after)) / 2 - mean(before, after)

    half = window // 2
    scores = {t: change(t) for t in range(max(window, target - reach - half), min(n - window, target + reach + half) + 1)}
    # only a local peak is a change: next to a stronger change outside the reach, the score is still high
    peaks = [t for t in scores if abs(t - target) <= reach
             and scores[t] == max(scores.get(u, -np.inf) for u in range(t - half, t + half + 1))]
    return max(peaks, key=scores.__getitem__) if peaks else target


def _folder(external_dir) -> Path:
    return locate_external(external_dir).resolve()


@functools.lru_cache(maxsize=2)
def _optdigits(path: Path) -> tuple[np.ndarray, np.ndarray, int]:
    bitmaps, labels = read_optdigits(path)
    return to_mnist(bitmaps.astype(np.float32)), labels, optdigits_writer_cut(bitmaps, labels)


@functools.lru_cache(maxsize=4)  # rendering all 7,494 digits takes ~45 s: train and val share one
def _pendigits(path: Path, seed: int, copies: int, limit: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    digits = read_pendigits(path)
    if limit is not None:  # the first ``limit`` digits of every writer, so a quick run still splits by writer
        rank = np.zeros(len(digits), np.int64)
        seen: dict[int, int] = {}
        for i, d in enumerate(digits):
            rank[i] = seen[d.writer] = seen.get(d.writer, -1) + 1
        digits = [d for d, r in zip(digits, rank, strict=True) if r < limit]  # file order kept
    images, labels, index = digit_inputs(digits, seed, copies)
    return images, labels, np.array([d.writer for d in digits], np.int64)[index]


def pendigits_val_writers(writers, seed: int = 0) -> np.ndarray:
    """The :data:`PENDIGITS_VAL_WRITERS` writers held out for validation, a fixed choice for each seed."""
    pool = np.unique(np.asarray(writers))
    count = min(PENDIGITS_VAL_WRITERS, max(len(pool) - 1, 0))
    return np.sort(np.random.default_rng(seed).choice(pool, size=count, replace=False))


def usps_val_mask(labels: np.ndarray, seed: int = 0, fraction: float = USPS_VAL_FRACTION) -> np.ndarray:
    """True for the zip.train digits held out: ``fraction`` of each label, drawn by seed."""
    rng = np.random.default_rng(seed)
    mask = np.zeros(len(labels), bool)
    for label in np.unique(labels):
        where = np.flatnonzero(labels == label)
        mask[rng.choice(where, size=round(len(where) * fraction), replace=False)] = True
    return mask


def load_writers(source: str, split: str, external_dir=None, seed: int = 0, copies: int = 1,
                 limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One extra source's ``train`` or ``val`` split, as MNIST-style model inputs.

    Parameters
    ----------
    source : {"pendigits", "optdigits", "usps"}
        pendigits: val = 6 of the 30 writers (:func:`pendigits_val_writers`); each digit drawn alone on
        the page's pad and read back (:func:`~handwritten_digits.data.pendigits.digit_inputs`).
        optdigits: val = the tail from the writer change nearest 80% (:func:`optdigits_writer_cut`).
        usps: zip.train only, val = 15% stratified by label (:func:`usps_val_mask`).
    split : {"train", "val"}
    external_dir : path, optional
        Folder with ``pendigits/``, ``optdigits/``, ``usps/`` (default: $DIGITS_EXTERNAL_DIR, then
        ``external/`` beside MNIST's folder).
    seed : int
        Chooses pendigits' validation writers and drawings, and USPS's validation digits; optdigits'
        split is fixed (a contiguous tail of writers).
    copies : int
        Inputs per digit, digit-major. pendigits: drawings, each at its own pen width, size and
        position. optdigits and usps are fixed bitmaps: each image is repeated ``copies`` times, which
        weighs a small source more in a shuffled mix (the same as sampling it more often).
    limit : int, optional
        pendigits only: draw just the first ``limit`` digits of each writer, for quick checks.

    Returns
    -------
    images : ndarray (N, 28, 28) float32 in [0, 1]
    labels : ndarray (N,) int64

    Notes
    -----
    Deterministic for given arguments; the converted or drawn source is cached in memory, so asking
    for ``train`` then ``val`` converts (or draws) once.
    """
    if source not in SOURCES:
        raise DigitsError(f"unknown source '{source}' ({', '.join(SOURCES)})")
    if split not in SPLITS:
        raise DigitsError(f"unknown split '{split}' (train or val)")
    if copies < 1:
        raise DigitsError(f"copies must be at least 1, not {copies}")
    folder = _folder(external_dir)
    if source == "pendigits":
        images, labels, writers = _pendigits(folder / PENDIGITS_FILE, int(seed), int(copies), limit)
        val = np.isin(writers, pendigits_val_writers(writers, seed))
    elif source == "optdigits":
        images, labels, cut = _optdigits(folder / OPTDIGITS_FILE)
        val = np.arange(len(labels)) >= cut
    else:
        images, labels = load_external("usps-train", folder)
        val = usps_val_mask(labels, seed)
    keep = val if split == "val" else ~val
    images, labels = images[keep], labels[keep]  # boolean indexing copies: the cache stays untouched
    if source != "pendigits" and copies > 1:
        images, labels = np.repeat(images, copies, axis=0), np.repeat(labels, copies)
    return images, labels
