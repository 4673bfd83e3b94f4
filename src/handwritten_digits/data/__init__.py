"""Datasets: MNIST from IDX files, a validation split, a user's folder-per-class digits, external sets.

Images come back as float32 arrays (N, 28, 28) in [0, 1] (ink bright), labels as int64 (N,).
"""

from __future__ import annotations

from handwritten_digits.data.mnist import (
    load_dataset,
    load_mnist,
    locate_mnist,
    mnist_checksums,
    train_val_split,
)
from handwritten_digits.errors import DigitsError

__all__ = ["load_dataset", "load_eval_set", "load_mnist", "locate_mnist", "mnist_checksums", "train_val_split"]


def load_eval_set(spec: str, data_dir=None, external_dir=None, val_size: int = 5000):
    """An evaluation set by name: ``test``, ``val``, ``usps-test``, ``semeion`` or ``folder:PATH``.

    ``usps`` (USPS train and test together) still loads, for old results; a model trained on USPS
    zip.train must be evaluated on ``usps-test``.
    """
    if spec in ("test", "val"):
        return load_dataset(spec, data_dir, val_size)
    if spec in ("usps-test", "usps", "semeion"):
        from handwritten_digits.data.external import load_external

        return load_external(spec, external_dir, data_dir)
    if spec.startswith("folder:"):
        from handwritten_digits.data.folder import load_folder

        return load_folder(spec[len("folder:"):])
    raise DigitsError(f"unknown dataset '{spec}' (test, val, usps-test, usps, semeion or folder:PATH)")
