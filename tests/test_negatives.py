"""Negative examples for the "not a digit" class (``handwritten_digits.data.negatives``)."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from handwritten_digits.data import negatives, strokes
from handwritten_digits.data.negatives import (
    KINDS,
    NEEDS_DIGITS,
    negative_images,
    negative_ink,
    negative_inputs,
)


@pytest.fixture(scope="module")
def digits() -> np.ndarray:
    """A few hundred MNIST-style digits: blobs, bars and rings drawn here, so no data files are needed."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:28, 0:28]
    out = []
    for _ in range(60):
        cy, cx, ry, rx = 14 + rng.normal(0, 1), 14 + rng.normal(0, 1), rng.uniform(7, 10), rng.uniform(2, 8)
        r = np.hypot((yy - cy) / ry, (xx - cx) / rx)
        out.append(np.clip(1.5 - 6 * np.abs(r - 0.8), 0, 1))  # rings (0s), narrow ones like 1s
        out.append(np.clip(1.0 - np.abs(yy - 14 - (xx - 14) * rng.uniform(-1, 1)) / 2, 0, 1) * (np.abs(xx - 14) < rx))
    return np.stack(out).astype(np.float32)


def test_inputs_are_model_inputs(digits):
    inputs, kinds = negative_inputs(120, seed=1, digits=digits)
    assert inputs.shape == (120, 28, 28) and inputs.dtype == np.float32
    assert kinds.shape == (120,) and kinds.dtype == np.int64
    assert inputs.min() >= 0 and inputs.max() <= 1
    assert (inputs.reshape(120, -1).max(axis=1) > 0.3).all()  # none blank
    assert set(kinds.tolist()) <= set(range(len(KINDS)))


def test_deterministic_by_seed(digits):
    a, ka = negative_inputs(30, seed=3, digits=digits)
    b, kb = negative_inputs(30, seed=3, digits=digits)
    c, _ = negative_inputs(30, seed=4, digits=digits)
    assert np.array_equal(a, b) and np.array_equal(ka, kb)
    assert not np.array_equal(a, c)


def test_kinds_from_digits_need_digits():
    _, kinds = negative_inputs(200, seed=0, photo=0.0)
    names = {KINDS[k] for k in kinds}
    assert not names & set(NEEDS_DIGITS)
    assert len(names) >= 8  # the drawn kinds are all in the mix
    with pytest.raises(ValueError):
        negative_ink("pair", np.random.default_rng(0))
    with pytest.raises(ValueError):
        negative_ink("digit", np.random.default_rng(0))


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_draws_ink_that_is_not_a_1(kind, digits):
    rng = np.random.default_rng(5)
    for _ in range(6):
        ink = negative_ink(kind, rng, digits)
        assert ink.ndim == 2 and ink.dtype == np.float32 and 0 <= ink.min() and ink.max() <= 1
        assert ink.max() > 0.3
        image = negatives.normalize_digit(ink)
        assert image is not None and image.max() > 0.3
        if kind != "stack":  # a column of digits is tall by design
            assert not negatives._one_like(ink)


def test_photo_share_reads_back(digits):
    inputs, _ = negative_inputs(20, seed=2, digits=digits, photo=1.0)
    assert (inputs.reshape(20, -1).max(axis=1) > 0.3).all()


def test_one_like_guard():
    bar = np.zeros((60, 60), np.float32)
    bar[5:55, 28:33] = 1  # a vertical bar
    assert negatives._one_like(bar)
    slash = np.zeros((60, 60), np.float32)
    for y in range(5, 55):  # a straight stroke 70 degrees from horizontal
        x = int(30 + (30 - y) / np.tan(np.radians(70)))
        slash[y, x - 2 : x + 3] = 1
    assert negatives._one_like(slash)
    assert not negatives._one_like(bar.T)  # a dash


def test_dashes_are_wider_than_tall():
    rng = np.random.default_rng(0)
    for _ in range(30):
        ys, xs = np.nonzero(negative_ink("dash", rng) > 0.3)
        assert np.ptp(xs) > np.ptp(ys)


def test_no_circles_or_vertical_bars_among_letters():
    assert not set("OoDQIlijZzSsGbTBgqJ") & set(strokes.LETTERS)
    assert not set("!|',&$") & set(strokes.SYMBOLS)


def test_whole_images_leave_a_margin(digits):
    from handwritten_digits.reading.ink import find_ink

    images = negative_images(40, seed=0, digits=digits)
    assert len(images) == 40
    inked = 0
    for image, kind in images:
        assert kind in KINDS
        assert image.dtype == np.uint8 and image.ndim == 2
        mask = find_ink(image).mask  # the ink as the reader finds it: inside, off the border
        inked += mask.any()  # faint paper grain or a hairline hatching may be lost in a photo, as in life
        assert not (mask[0].any() or mask[-1].any() or mask[:, 0].any() or mask[:, -1].any())
    assert inked >= 36


def test_drawn_not_typed():
    for module in (negatives, strokes):
        source = inspect.getsource(module)
        assert "ImageFont" not in source and "truetype" not in source
