"""Datasets: MNIST from IDX files, a validation split, a user's folder-per-class digits, external sets.

Images come back as float32 arrays (N, 28, 28) in [0, 1] (ink bright), labels as int64 (N,).
"""

from handwritten_digits.data.mnist import load_dataset, load_mnist, locate_mnist, mnist_checksums, train_val_split

__all__ = ["load_dataset", "load_mnist", "locate_mnist", "mnist_checksums", "train_val_split"]
