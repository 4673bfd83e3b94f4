"""Real digits by writers outside MNIST: USPS and Semeion (16x16 each).

Semeion and USPS ``zip.test`` are for evaluation only; USPS ``zip.train`` may be trained on
(:func:`handwritten_digits.data.writers.load_writers` splits it into train and validation).
"""

from __future__ import annotations

import functools
import gzip
import os
from pathlib import Path

import numpy as np

from handwritten_digits.errors import DigitsError


def locate_external(external_dir=None, data_dir=None) -> Path:
    """``external_dir``, else $DIGITS_EXTERNAL_DIR, else ``external/`` beside the MNIST folder."""
    if external_dir or os.environ.get("DIGITS_EXTERNAL_DIR"):
        return Path(external_dir or os.environ["DIGITS_EXTERNAL_DIR"])
    from handwritten_digits.data.mnist import locate_mnist

    return locate_mnist(data_dir).parent / "external"


def to_mnist(ink16: np.ndarray) -> np.ndarray:
    """16x16 ink maps -> MNIST-style 28x28 (upsampled first so the 20x20 fit is smooth)."""
    from PIL import Image

    from handwritten_digits.reading.normalize import normalize_digit

    out = []
    for ink in ink16:
        big = Image.fromarray((np.clip(ink, 0, 1) * 255).astype(np.uint8)).resize((64, 64), Image.BILINEAR)
        # stroke=False: these strokes are already digit-scale (unlike a photo's), and stroke
        # adjustment would be ~80% of the load time for no change in what the set measures.
        image = normalize_digit(np.asarray(big, dtype=np.float32) / 255.0, stroke=False)
        out.append(image if image is not None else np.zeros((28, 28), np.float32))
    return np.stack(out)


def _read_lines(path: Path, opener=open) -> list[str]:
    try:
        with opener(path, "rt") as f:
            return [line for line in f.read().splitlines() if line.strip()]
    except OSError as exc:
        raise DigitsError(f"{path}: cannot read ({exc})") from None


def _parse(rows: list[str], where: Path) -> np.ndarray:
    try:
        values = np.array([list(map(float, row.split())) for row in rows], dtype=np.float32)
    except ValueError:
        raise DigitsError(f"{where}: not a table of numbers (rows of different length or non-numeric values)") from None
    if values.ndim != 2 or len(values) == 0:
        raise DigitsError(f"{where}: no digits found")
    return values


USPS_FILES = {"usps-train": "zip.train.gz", "usps-test": "zip.test.gz"}


def load_usps_file(folder: Path, name: str = "usps-test") -> tuple[np.ndarray, np.ndarray]:
    """One USPS file, ``usps-train`` (zip.train, 7,291) or ``usps-test`` (zip.test, 2,007), MNIST-style."""
    where = folder / "usps" / USPS_FILES[name]
    values = _parse(_read_lines(where, gzip.open), where)
    if values.shape[1] != 257:
        raise DigitsError(f"{where}: expected 257 values a line, found {values.shape[1]}")
    labels = values[:, 0].astype(np.int64)
    ink = (values[:, 1:].reshape(-1, 16, 16) + 1) / 2  # -1 is background
    return to_mnist(ink), labels


def load_semeion(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    rows = _read_lines(folder / "semeion" / "semeion.data")
    values = _parse(rows, folder / "semeion")
    if values.shape[1] != 266:
        raise DigitsError(f"{folder / 'semeion'}: expected 266 values a line, found {values.shape[1]}")
    return to_mnist(values[:, :256].reshape(-1, 16, 16)), values[:, 256:].argmax(axis=1).astype(np.int64)


NAMES = ("usps-test", "usps-train", "usps", "semeion")


def load_external(name: str, external_dir=None, data_dir=None) -> tuple[np.ndarray, np.ndarray]:
    """An external set as MNIST-style float32 images and int64 labels.

    ``usps-test`` (USPS zip.test, 2,007: evaluation), ``usps-train`` (zip.train, 7,291: may be trained
    on), ``usps`` (both, 9,298, train first: kept for old results; don't evaluate a model trained on
    USPS with it) or ``semeion`` (1,593).
    """
    if name not in NAMES:
        raise DigitsError(f"unknown external dataset '{name}' ({', '.join(NAMES)})")
    folder = locate_external(external_dir, data_dir).resolve()
    if name == "usps":  # built from the two cached files, so each file is parsed and converted once
        parts = [_load_cached(part, folder) for part in USPS_FILES]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    images, labels = _load_cached(name, folder)
    return images.copy(), labels.copy()


@functools.lru_cache(maxsize=4)  # conversion takes seconds: evaluating several models converts once
def _load_cached(name: str, folder: Path) -> tuple[np.ndarray, np.ndarray]:
    if name == "semeion":
        return load_semeion(folder)
    return load_usps_file(folder, name)
