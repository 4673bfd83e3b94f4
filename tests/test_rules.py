"""Printed lines found along the paper's slope: the slope measured, the lines found on a turned sheet."""

import cv2
import numpy as np
import pytest

from handwritten_digits.reading.rules import paper_slope, rules, rules_along, sharpest


def _grid(degrees: float, size=(400, 600), step=30) -> np.ndarray:
    """A squared sheet's lines (2 px, every ``step``) turned ``degrees`` (cv2's counter-clockwise)."""
    h, w = size
    big = np.zeros((2 * h, 2 * w), np.uint8)
    big[::step, :] = big[1::step, :] = 1
    big[:, ::step] = big[:, 1::step] = 1
    turn = cv2.getRotationMatrix2D((w, h), degrees, 1.0)
    sheet = cv2.warpAffine(big, turn, (2 * w, 2 * h), flags=cv2.INTER_NEAREST)[h // 2 : h // 2 + h, w // 2 : w // 2 + w]
    return sheet.astype(bool)


def _labelled(mask):
    return cv2.connectedComponentsWithStats(mask.view(np.uint8), connectivity=8, ltype=cv2.CV_32S)[1:3]


@pytest.mark.parametrize("degrees", [-15.0, -7.0, 0.0, 12.0])
def test_the_slope_of_printed_lines_is_measured(degrees):
    mask = _grid(degrees)
    labels, stats = _labelled(mask)
    assert abs(paper_slope(mask, labels, stats, 100) + degrees) <= 0.5  # turning back by it levels them


def test_all_angles_at_once_match_one_angle_at_a_time():
    rng = np.random.default_rng(0)
    ys, xs = rng.integers(0, 300, 2000).astype(np.float64), rng.integers(0, 500, 2000).astype(np.float64)
    ys[:600] = 40 + 0.2 * xs[:600]  # a line about 11 degrees off level among scattered ink
    angles = np.arange(-20.0, 20.5, 1.0)

    def loop():  # the plain loop: each angle's rows and columns counted on their own
        best = None
        for degrees in angles:
            t = np.radians(degrees)
            counts = [np.bincount(np.round(a / 3.0 - (a / 3.0).min()).astype(np.int64)).astype(np.float64)
                      for a in (ys * np.cos(t) - xs * np.sin(t), xs * np.cos(t) + ys * np.sin(t))]
            sharp = sum(float(np.sum(c ** 2)) for c in counts)
            if best is None or sharp > best[0]:
                best = sharp, float(degrees), counts
        return best[1:]

    angle, counts = sharpest(ys, xs, angles, 3.0)
    expected_angle, expected = loop()
    assert angle == expected_angle and abs(angle - 11.0) <= 1.0  # the line, atan(0.2) = 11.3 degrees
    for got, want in zip(counts, expected, strict=True):
        np.testing.assert_array_equal(got, want)


def test_no_long_piece_measures_no_slope():
    mask = np.zeros((200, 200), bool)
    cv2.circle(mask.view(np.uint8), (100, 100), 20, 1, 3)
    assert paper_slope(mask, *_labelled(mask), 100) == 0.0


def test_a_turned_sheet_loses_its_lines_and_keeps_its_writing():
    """Turned 15 degrees, a squared sheet's lines run across the bands ``rules`` looks in; turned level
    first, they are found, and a ring drawn in a square stays."""
    mask = _grid(15.0)
    far = cv2.distanceTransform((~mask).view(np.uint8), cv2.DIST_L2, 5)[100:300, 200:400]  # a square's middle
    y, x = np.unravel_index(int(far.argmax()), far.shape)
    ring = np.zeros_like(mask)
    cv2.circle(ring.view(np.uint8), (int(x) + 200, int(y) + 100), 7, 1, 2)
    mask |= ring
    labels, stats = _labelled(mask)
    slope = paper_slope(mask, labels, stats, 100)
    along = rules_along(mask, slope, 90, 5, 2)
    lines = mask & ~ring
    assert (along & lines).sum() >= 0.95 * lines.sum()
    assert (along & ring).sum() <= 0.1 * ring.sum()
    assert (rules(mask, 90, 5, 2) & lines).sum() < 0.5 * lines.sum()  # as they lie, most are missed


def test_a_stroke_beside_a_printed_line_is_kept():
    """A thin stroke that runs a few pixels off a printed line (a 9's loop inside a square) lies in the
    line's thickened band, but not in the rows the line fills: it stays."""
    mask = _grid(0.0)
    stroke = np.zeros(mask.shape, np.uint8)
    cv2.circle(stroke, (105, 58), 9, 1, 1)  # a loop 3 px over a line
    stroke = stroke.view(bool) & ~mask
    found = rules(mask | stroke, 90, 11, 2)
    assert (found & mask).sum() >= 0.95 * mask.sum()
    assert (found & stroke).sum() <= 0.2 * stroke.sum()


def test_bold_strokes_on_a_line_do_not_thicken_it():
    """The lines' thickness is measured on the ink in their bands: where a faint sheet leaves little of
    its lines in the mask, bold digits lying on them make most of it. A line is never taken thicker than
    its band (``k``), so the digits, thicker than the line, stay."""
    mask = np.zeros((200, 600), bool)
    mask[100:102, :] = True
    bars = np.zeros_like(mask)
    for x in (60, 240, 420):
        bars[95:107, x : x + 120] = True  # a bar 12 px thick on the line
    found = rules(mask | bars, 150, 9, 3)
    assert found[100:102, :50].all()
    assert not found[bars & ~mask].any()
