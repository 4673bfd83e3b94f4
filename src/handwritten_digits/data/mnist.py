"""MNIST: find the four IDX files, load them, split off validation."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np

from handwritten_digits.data import idx
from handwritten_digits.errors import DigitsError

FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "handwritten-digits" / "mnist"


def _find(folder: Path, stem: str) -> Path | None:
    for name in (stem + ".gz", stem):
        if (folder / name).exists():
            return folder / name
    return None


def locate_mnist(data_dir: str | Path | None = None, download: bool = False) -> Path:
    """The folder holding MNIST.

    Parameters
    ----------
    data_dir : path, optional
        Tried first; then $DIGITS_DATA_DIR, then the user cache (``$XDG_CACHE_HOME`` or ``~/.cache``).
    download : bool
        When nothing is found, fetch the four files from the public mirrors into the first candidate
        (verified by SHA-256). Never done unless asked.
    """
    candidates = [Path(p) for p in (data_dir, os.environ.get("DIGITS_DATA_DIR")) if p] + [CACHE]
    for folder in candidates:
        if all(_find(folder, stem) for pair in FILES.values() for stem in pair):
            return folder
    where = candidates[0]
    if download:
        from handwritten_digits.data.download import download_mnist

        return download_mnist(where)
    raise DigitsError(
        f"MNIST not found in {', '.join(map(str, candidates))}: put the four IDX files "
        f"(train-images-idx3-ubyte.gz, ...) in {where}, or run `digits data --download`"
    )


def load_mnist(split: str = "train", data_dir: str | Path | None = None, download: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """MNIST's own ``train`` (60,000) or ``test`` (10,000) images as uint8 (N, 28, 28) and labels."""
    if split not in FILES:
        raise DigitsError(f"unknown MNIST split '{split}' (train or test)")
    return _read_split(locate_mnist(data_dir, download).resolve(), split)


@functools.lru_cache(maxsize=4)  # train/val/test loads in one process read each file once
def _read_split(folder: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    image_stem, label_stem = FILES[split]
    images = idx.read_idx(_find(folder, image_stem))
    labels = idx.read_idx(_find(folder, label_stem))
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise DigitsError(f"{_find(folder, image_stem)}: expected 28x28 images, got shape {images.shape}")
    if len(images) != len(labels):
        raise DigitsError(f"{_find(folder, label_stem)}: {len(labels)} labels for {len(images)} images")
    return images, labels


def train_val_split(labels: np.ndarray, val_size: int = 5000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic stratified split: index arrays (train, val), each class in proportion."""
    labels = np.asarray(labels)
    if not 0 <= val_size < len(labels):
        raise DigitsError(f"validation size {val_size} must be in [0, {len(labels)})")
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(labels, return_counts=True)
    quotas = np.floor(counts * val_size / len(labels)).astype(int)
    for k in np.argsort(-(counts * val_size / len(labels) - quotas))[: val_size - quotas.sum()]:
        quotas[k] += 1  # largest remainders get the leftover places
    val = [rng.permutation(np.flatnonzero(labels == c))[:q] for c, q in zip(classes, quotas)]
    val = np.sort(np.concatenate(val)) if val else np.array([], dtype=np.int64)
    train = np.setdiff1d(np.arange(len(labels)), val)
    return train, val


def load_dataset(name: str, data_dir=None, val_size: int = 5000, seed: int = 0, download: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``train`` (MNIST train minus validation), ``val`` or ``test``: float32 images in [0, 1], int64 labels.

    ``download=True`` fetches MNIST from the public mirrors when it is not found locally.
    """
    if name not in ("train", "val", "test"):
        raise DigitsError(f"unknown split '{name}' (train, val or test)")
    images, labels = load_mnist("test" if name == "test" else "train", data_dir, download)
    if name != "test":
        train, val = train_val_split(labels, val_size, seed)
        keep = train if name == "train" else val
        images, labels = images[keep], labels[keep]
    # one pass straight to float32 (the same values as astype then divide, half the memory traffic)
    return np.divide(images, np.float32(255), dtype=np.float32), labels.astype(np.int64)


def mnist_checksums(data_dir=None) -> dict[str, str]:
    """SHA-256 of each file's decompressed bytes, for model cards."""
    from handwritten_digits.fileio import sha256_bytes

    folder = locate_mnist(data_dir)
    return {stem: sha256_bytes(idx.read_bytes(_find(folder, stem))) for pair in FILES.values() for stem in pair}
