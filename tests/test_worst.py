"""Worst-case images read without error and in bounded time (the figures are ``benchmarks.bench_worst``'s)."""

from __future__ import annotations

import time

import pytest

from benchmarks import bench_worst


@pytest.fixture(scope="module")
def reader():
    from handwritten_digits.reading.reader import Reader

    return Reader.load("default-int8", threads=1)


def test_the_issues_stripe_image_is_what_the_issue_describes():
    img = bench_worst.stripes(447, 447)
    assert img.shape == (447, 447)
    assert (img[:, 0::3] == 0).all() and (img[:, 1::3] == 255).all() and (img[:, 2::3] == 255).all()


def test_the_stripe_png_reads_without_error_in_bounded_time(reader):
    data = bench_worst.png(bench_worst.stripes(447, 447))  # as bench_worst sends it
    reader.read(data)  # warm-up: the first inference sets the sessions up
    start = time.perf_counter()
    result = reader.read(data)
    elapsed = time.perf_counter() - start
    assert elapsed < 2.0, f"the stripe image took {elapsed:.2f} s"  # a test bound, not the 50 ms target
    assert isinstance(result.limits, list) and all(isinstance(x, str) for x in result.limits)
    assert isinstance(result.text, str)


def test_every_worst_image_is_a_png_the_reader_accepts():
    from handwritten_digits.reading import decode

    for name, data in bench_worst.worst_images().items():
        with decode.open_header(data) as img:
            assert img.format == "PNG" and img.width * img.height <= decode.MAX_PIXELS, name


def test_a_piece_too_large_to_cut_is_read_whole_and_says_so(reader):
    """A scribble of one thick stroke across the image is one piece of about 100,000 pixels: no cut search, 'size'."""
    import cv2
    import numpy as np

    from handwritten_digits.reading import cuts

    gray = np.full((600, 900), 255, np.uint8)
    walk = np.cumsum(np.random.default_rng(0).normal(0, 60, (400, 2)), axis=0)
    walk = (walk - walk.min(0)) / np.ptp(walk, axis=0) * [860, 560] + 20
    cv2.polylines(gray, [walk.astype(np.int32)], False, 0, 9)
    assert np.count_nonzero(gray < 128) > cuts.MAX_AREA
    assert "size" in reader.read(gray).limits


def test_a_checkerboard_is_no_digit(reader):
    """The benchmark's 1-px checkerboard is one piece of printed-looking lines through the whole image: paper."""
    images = bench_worst.worst_images()
    result = reader.read(images[next(k for k in images if k.startswith("checkerboard"))])
    assert result.text == "" and not result.digits
