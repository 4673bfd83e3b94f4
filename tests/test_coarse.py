"""Digits as coarse scans keep them: block counts as load_digits made them, coarse inputs, their validation sets."""

from __future__ import annotations

import numpy as np

from handwritten_digits.data import load_dataset
from handwritten_digits.data.coarse import SIDES, block_counts, coarse_digit, coarse_inputs, coarse_validation
from handwritten_digits.runtime import Recognizer


def test_block_counts_are_the_share_of_ink_in_each_square():
    bitmaps = (np.random.default_rng(0).random((3, 32, 32)) > 0.6).astype(np.float32)
    counts = block_counts(bitmaps)
    expected = np.array([[[bitmaps[n, 4 * i:4 * i + 4, 4 * j:4 * j + 4].sum() / 16 for j in range(8)] for i in range(8)]
                         for n in range(3)])
    assert counts.shape == (3, 8, 8) and np.allclose(counts, expected)


def test_a_coarse_digit_is_a_few_pixels_a_side_in_black_and_white_or_grey(data_dir):
    images, _ = load_dataset("val", data_dir)
    rng = np.random.default_rng(1)
    drawn = [coarse_digit(images[i], rng) for i in range(200)]
    assert {d.shape[0] for d in drawn} <= set(SIDES) and all(d.shape[0] == d.shape[1] for d in drawn)
    assert all(d.min() >= 0 and d.max() <= 1 and d.max() > 0 for d in drawn)
    binary = [d for d in drawn if set(np.unique(d)) <= {0.0, 1.0}]
    assert 60 <= len(binary) <= 140  # about half in black and white, the rest in grey
    assert coarse_digit(np.zeros((28, 28), np.float32), rng).max() == 0  # nothing to draw: an empty square


def test_coarse_inputs_are_model_inputs_of_the_right_digits(data_dir):
    images, labels = load_dataset("val", data_dir)
    x, y = coarse_inputs(images[:300], labels[:300], 120, seed=2)
    again, _ = coarse_inputs(images[:300], labels[:300], 120, seed=2)
    assert x.shape == (120, 28, 28) and x.dtype == np.float32 and np.array_equal(x, again)
    assert x.min() >= 0 and x.max() <= 1
    assert (Recognizer.load("default").predict(x) == y).mean() >= 0.85  # the labels belong to the digits


def test_coarse_validation_holds_mnist_and_the_optdigits_validation_writers(data_dir, external_dir):
    from handwritten_digits.data.writers import load_writers

    images, labels = load_dataset("val", data_dir)
    sets = coarse_validation((images[:50], labels[:50]), seed=0, external_dir=external_dir)
    assert set(sets) == {"coarse", "optdigits_8x8"} and len(sets["coarse"][1]) == 50
    x, y = sets["optdigits_8x8"]
    assert x.shape[1:] == (28, 28) and np.array_equal(y, load_writers("optdigits", "val", external_dir)[1])
