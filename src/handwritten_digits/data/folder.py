"""A user's own labelled digits: ``DIR/0/*.png`` ... ``DIR/9/*.png`` (any image Pillow reads)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from handwritten_digits.errors import DigitsError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


def load_folder(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Every image under the class folders, MNIST-normalised by ``reading.normalize.prepare_single``.

    Blank or unreadable images are skipped and counted on stderr, never fatal.
    """
    from handwritten_digits.reading.normalize import prepare_single

    root = Path(path)
    if not root.is_dir():
        raise DigitsError(f"{root}: not a folder (expected {root}/0/*.png ... {root}/9/*.png)")
    images, labels, skipped = [], [], 0
    for digit in range(10):
        folder = root / str(digit)
        for file in sorted(folder.glob("*")) if folder.is_dir() else []:
            if file.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            try:
                found = prepare_single(file)
            except DigitsError:
                found = None
            if found is None:
                skipped += 1
                continue
            images.append(found.image)
            labels.append(digit)
    if skipped:
        print(f"{root}: skipped {skipped} blank or unreadable images", file=sys.stderr)
    if not images:
        raise DigitsError(f"{root}: no labelled images found (expected {root}/0/*.png ... {root}/9/*.png)")
    return np.stack(images).astype(np.float32), np.asarray(labels, dtype=np.int64)


def save_folder(images: np.ndarray, labels: np.ndarray, path: str | Path, prefix: str = "digit") -> Path:
    """Write (N, 28, 28) images in [0, 1] as ``path/LABEL/PREFIX-INDEX.png`` (white ink on black, as MNIST)."""
    from PIL import Image

    from handwritten_digits.fileio import atomic_write_bytes

    root = Path(path)
    for i, (image, label) in enumerate(zip(images, labels)):
        import io

        buffer = io.BytesIO()
        Image.fromarray(np.clip(np.asarray(image) * 255, 0, 255).astype(np.uint8)).save(buffer, format="PNG")
        atomic_write_bytes(root / str(int(label)) / f"{prefix}-{i:06d}.png", buffer.getvalue())
    return root
