"""The page generator (data/pages.py): shapes, truth and determinism, on MNIST validation digits."""

from __future__ import annotations

import numpy as np
import pytest

from handwritten_digits.data.pages import PAPERS, PageTruth, make_page, make_pages


@pytest.fixture(scope="module")
def digits(data_dir):
    from handwritten_digits.data import load_dataset

    return load_dataset("val", data_dir)


def _inside(box, image) -> bool:
    x0, y0, x1, y1 = box
    return 0 <= x0 < x1 <= image.shape[1] and 0 <= y0 < y1 <= image.shape[0]


def test_page_truth_follows_the_lengths_asked(digits):
    lengths = [[3, 1], [10], [2, 4, 1, 5]]
    image, truth = make_page(np.random.default_rng(0), digits, lengths=lengths, color=False)
    assert isinstance(truth, PageTruth) and not truth.grid
    assert image.dtype == np.uint8 and image.ndim == 2
    assert [[len(n) for n in line] for line in truth.lines] == lengths
    assert all(n.isdigit() for line in truth.lines for n in line)
    assert [len(b) for b in truth.boxes] == [len(line) for line in truth.lines]
    assert all(_inside(b, image) for line in truth.boxes for b in line)
    assert truth.label == " | ".join(" ".join(line) for line in truth.lines)


@pytest.mark.parametrize("options", [dict(lengths=[[3, 1], [4]], show_through=True), dict(grid=(3, 4))])
def test_the_truth_names_each_digits_source_in_reading_order(digits, options):
    _, truth = make_page(np.random.default_rng(3), digits, **options)
    text = "".join(n for line in truth.lines for n in line)
    assert len(truth.sources) == len(text)
    assert "".join(str(int(digits[1][k])) for k in truth.sources) == text


def test_lines_are_made_top_to_bottom_and_numbers_left_to_right(digits):
    """The truth's order is the reading order: on a straight page, each line's boxes are below the last
    line's, and numbers on a line run left to right without overlapping."""
    for seed in range(4):
        _, truth = make_page(np.random.default_rng(seed), digits, lines=5, slant=0.0, perspective=False)
        tops = [min(b[1] for b in line) for line in truth.boxes]
        bottoms = [max(b[3] for b in line) for line in truth.boxes]
        assert all(tops[k + 1] >= bottoms[k] for k in range(len(tops) - 1)), truth.boxes
        for line in truth.boxes:
            assert all(line[k + 1][0] >= line[k][2] for k in range(len(line) - 1)), line


def test_grid_rows_are_lines_and_cells_are_numbers(digits):
    image, truth = make_page(np.random.default_rng(1), digits, grid=(4, 6), paper="squared")
    assert truth.grid and truth.paper == "squared"
    assert [len(line) for line in truth.lines] == [6] * 4
    assert all(len(n) == 1 for line in truth.lines for n in line)
    assert all(_inside(b, image) for line in truth.boxes for b in line)


@pytest.mark.parametrize("paper", PAPERS)
def test_every_paper_renders(digits, paper):
    image, truth = make_page(np.random.default_rng(2), digits, lines=2, paper=paper, color=True, shadow=True,
                             show_through=True, perspective=True)
    assert image.ndim == 3 and image.shape[2] == 3 and truth.paper == paper
    assert image.std() > 5  # something is drawn on the sheet
    if paper == "note":  # yellow: less blue than red
        assert np.median(image[..., 2]) < np.median(image[..., 0]) - 30


def test_pages_are_deterministic_by_seed(digits):
    a = make_pages(3, seed=5, digits=digits)
    b = make_pages(3, seed=5, digits=digits)
    c = make_pages(3, seed=6, digits=digits)
    assert all(np.array_equal(x[0], y[0]) and x[1] == y[1] for x, y in zip(a, b))
    assert any(not np.array_equal(x[0], y[0]) for x, y in zip(a, c))


def test_random_pages_stay_in_their_ranges(digits):
    for image, truth in make_pages(12, seed=0, digits=digits):
        assert 1 <= len(truth.lines) <= 8
        if not truth.grid:
            assert all(1 <= len(line) <= 4 for line in truth.lines)
            assert all(1 <= len(n) <= 10 for line in truth.lines for n in line)
        assert max(image.shape[:2]) <= 2400  # MAX_SIDE, plus margins and perspective


def test_a_turned_photo_turns_the_sheet_and_its_truth(digits):
    """``turn`` turns the whole sheet, printed lines too, and the truth boxes with it; it draws nothing
    from the generator (the same page as unturned)."""
    options = dict(lengths=[[8]], paper="ruled", slant=0.0, shadow=False, show_through=False, perspective=False, degrade=False)
    flat, truth = make_page(np.random.default_rng(5), digits, **options)
    turned, turned_truth = make_page(np.random.default_rng(5), digits, turn=20.0, **options)
    assert turned_truth.lines == truth.lines
    (x0, y0, x1, y1), (tx0, ty0, tx1, ty1) = truth.boxes[0][0], turned_truth.boxes[0][0]
    assert ty1 - ty0 >= (y1 - y0) + 0.25 * (x1 - x0)  # a long number turned 20 degrees stands taller
    assert turned.shape[0] > flat.shape[0] and _inside(turned_truth.boxes[0][0], turned)
    gray = turned if turned.ndim == 2 else turned.mean(axis=2)
    row = int(np.argmin(gray[:, gray.shape[1] // 2]))  # a printed line at the middle column ...
    assert gray[row, gray.shape[1] // 2 + 60] > gray[row, gray.shape[1] // 2] + 20  # ... no longer level there
