"""The layout stage (reading/layout.py): lines and numbers found on generated pages, through find_ink.

Pages come from :mod:`handwritten_digits.data.pages` with MNIST validation digits; every case asserts
exact counts and the reading order (each number's box against the truth's, line by line).
"""

from __future__ import annotations


import cv2
import numpy as np
import pytest

from handwritten_digits.data.pages import make_page
from handwritten_digits.reading import layout as layout_module
from handwritten_digits.reading.decode import decode
from handwritten_digits.reading.gaps import number_breaks
from handwritten_digits.reading.ink import find_ink
from handwritten_digits.reading.layout import layout, restrict
from handwritten_digits.reading.segment import segment, to_input_box
from handwritten_digits.results import iou
from handwritten_digits.synthetic import ink_patch

CLEAN = dict(shadow=False, show_through=False, perspective=False, degrade=False, color=False, slant=0.0)


@pytest.fixture(scope="module")
def digits(data_dir):
    from handwritten_digits.data import load_dataset

    return load_dataset("val", data_dir)


def _read(image):
    inkmap = find_ink(decode(image))
    return inkmap, layout(inkmap)


def _counts(found) -> list[int]:
    return [len(line.numbers) for line in found.lines]


def _assert_matches(found, truth):
    """Same lines, same numbers on each, in reading order: each box overlaps the truth's (IoU >= 0.5)."""
    assert _counts(found) == [len(line) for line in truth.lines]
    for line, boxes in zip(found.lines, truth.boxes):
        for region, box in zip(line.numbers, boxes):
            assert iou(to_input_box(region.box, found.inkmap), box) >= 0.5, (region.box, box)


def _clean(ink: np.ndarray, mask: np.ndarray):
    """``paper.clean`` on a hand-made map (soft ``ink``, stroke ``mask``, at scale 1): the cleaned map and what it removed."""
    from handwritten_digits.reading.ink import InkMap
    from handwritten_digits.reading.paper import clean

    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.view(np.uint8), connectivity=8, ltype=cv2.CV_32S)
    cleaned, removed, _ = clean(InkMap(ink, mask, 1.0, mask.shape, labels, stats))
    return cleaned, removed


def test_rows_of_numbers(digits):
    image, truth = make_page(np.random.default_rng(0), digits, lengths=[[3, 2], [4], [2, 3, 1]], paper="plain", **CLEAN)
    _, found = _read(image)
    _assert_matches(found, truth)
    assert [ln.box[1] for ln in found.lines] == sorted(ln.box[1] for ln in found.lines)


def test_a_grid_of_digits_is_read_row_by_row(digits):
    """Five rows of five digits: five lines (not five tall columns), each cell a number (a table)."""
    image, truth = make_page(np.random.default_rng(1), digits, grid=(5, 5), paper="plain", **CLEAN)
    _, found = _read(image)
    assert _counts(found) == [5, 5, 5, 5, 5]
    _assert_matches(found, truth)


def test_two_numbers_on_one_line(digits):
    image, truth = make_page(np.random.default_rng(2), digits, lengths=[[5, 5]], gap=3.0, paper="plain", **CLEAN)
    _, found = _read(image)
    assert _counts(found) == [2]
    _assert_matches(found, truth)


def _strip(digits, gaps, height=40) -> np.ndarray:
    """Digits side by side with the given gaps (in heights), dark on white."""
    images, _ = digits
    rng = np.random.default_rng(3)
    patches = [ink_patch(images[k], height, rng) for k in range(len(gaps) + 1)]
    width = sum(p.shape[1] for p in patches) + int(sum(gaps) * height) + 2 * height
    canvas = np.zeros((3 * height, width), np.float32)
    x = height
    for k, p in enumerate(patches):
        canvas[height : height + p.shape[0], x : x + p.shape[1]] = p
        x += p.shape[1] + int(gaps[k] * height if k < len(gaps) else 0)
    return (255 * (1 - 0.85 * canvas)).astype(np.uint8)


def test_evenly_spaced_digits_are_one_number_even_widely_spaced(digits):
    assert _counts(_read(_strip(digits, [0.2] * 4))[1]) == [1]
    assert _counts(_read(_strip(digits, [1.2] * 4))[1]) == [1]
    assert _counts(_read(_strip(digits, [0.2, 0.2, 2.0, 0.2, 0.3]))[1]) == [2]  # 123 456: a gap clearly wider


def test_two_widely_spaced_numbers_are_told_apart(digits):
    """Digits written far apart, unevenly (0.6-0.9 heights), then a gap of twice their median spacing: two
    numbers, though the gap is less than twice the widest spacing of the digits."""
    assert _counts(_read(_strip(digits, [0.6, 0.9, 0.7, 1.9, 0.8, 0.6]))[1]) == [2]


def test_a_wide_gap_does_not_hide_the_gap_between_two_numbers(digits):
    """A lone digit far to the left, then 12 34567: the very wide gap is one split, and the gap clearly
    wider than the spacing of the digits after it is another."""
    assert _counts(_read(_strip(digits, [10.0, 0.2, 1.6, 0.2, 0.2, 0.2, 0.2]))[1]) == [3]


def test_the_gap_inside_a_number_is_no_column_of_a_table():
    """A row of single digits two heights apart over a row of two-digit numbers (a sheet counting 0 to
    100): where the gap inside two of the numbers is wider than the others', and lies under a gap of the
    row above, the rows still make no table whose columns split those numbers (it read 18 19 as 1 8 1 9).
    The numbers' own gaps, far wider, are the splits."""
    h = 10.0
    singles = np.array([[20 * k + 6, 20 * k + 20] for k in range(10)], float)  # digits 6 px wide, 14 px apart
    inner = [(6, 11) if j in (1, 2) else (6, 8) for j in range(5)]  # 0.5 heights in two numbers, else 0.2
    numbers = np.array([[40 * j + a, 40 * j + b] for j in range(5) for a, b in (inner[j], (17, 40))], float)[:-1]
    rows = [(np.arange(11), singles, h), (np.arange(10), numbers, h)]
    breaks = number_breaks(rows, np.zeros((0, 4), int), None, 1.0)
    assert breaks[1].tolist() == [False, True] * 4 + [False]


def test_a_column_of_a_table_runs_through_its_lines():
    """Four rows of five single digits in columns (a grid of cells): in one row the first two digits are
    written close (less than half a height apart), and the row above meets only that narrow gap there.
    The column the other rows cut is cut in those two rows too: every cell is a number of its own."""
    h = 10.0

    def row(width, first=None):
        gaps = np.array([[16 * k + width, 16 * (k + 1)] for k in range(4)], float)
        if first is not None:
            gaps[0, 1] = first  # the second digit starts early, closing the first gap
        return (np.arange(5), gaps, h)

    rows = [row(6), row(7, first=11.8), row(6), row(6)]
    breaks = number_breaks(rows, np.zeros((0, 4), int), None, 1.0)
    assert [b.tolist() for b in breaks] == [[True] * 4] * 4


def test_two_rows_of_three_cells_are_a_table():
    """Two rows of three single digits, a digit height apart, in the same columns (a 2 x 3 grid): two gaps
    per line are all the gaps each has, and every one pairs up with the other line's; each cell is a
    number (it read 6 3 5 as 635). One line of such digits alone stays one number."""
    h = 10.0
    row = (np.arange(3), np.array([[7.0, 19.0], [27.0, 38.0]]), h)
    assert [b.tolist() for b in number_breaks([row, row], np.zeros((0, 4), int), None, 1.0)] == [[True, True]] * 2
    assert number_breaks([row], np.zeros((0, 4), int), None, 1.0)[0].tolist() == [False, False]


def test_a_desk_beside_a_few_digits_does_not_set_their_height():
    """Seven digits 30 px tall and the desk around a turned note (one piece 250 px tall, 200 times their
    ink): the page's digit height is the digits' (the desk weighs as a few digits at most); it measured
    the desk's, and the desk was no blot next to it."""
    from handwritten_digits.reading.paper import typical_height

    stats = np.array([[10 + 40 * k, 50, 20, 30, 200] for k in range(7)] + [[0, 0, 400, 250, 40_000]])
    assert typical_height(stats) == 30


def _placed(digits, spots, height=40) -> np.ndarray:
    """Digits k at (x, y) (their top left corner, in heights), dark on white."""
    images, _ = digits
    rng = np.random.default_rng(4)
    width = int((max(x for _, x, _ in spots) + 3) * height)
    canvas = np.zeros((int((max(y for _, _, y in spots) + 3) * height), width), np.float32)
    for k, x, y in spots:
        p = ink_patch(images[k], height, rng)
        x, y = int(x * height), int(y * height)
        canvas[y : y + p.shape[0], x : x + p.shape[1]] = np.maximum(canvas[y : y + p.shape[0], x : x + p.shape[1]], p)
    return (255 * (1 - 0.85 * canvas)).astype(np.uint8)


def test_a_lone_digit_far_from_the_next_line_is_a_line_of_its_own(digits):
    """A digit at the left of one line and a number far to the right, a line lower: two lines, not one
    line running 10 degrees downhill across the page (the other lines run level)."""
    spots = [(k, 1 + 0.9 * k, 1) for k in range(8)]  # a full line above ...
    spots += [(8, 1, 2.6)] + [(9 + k, 11.5 + 0.9 * k, 4.4) for k in range(3)]  # ... a lone digit, a number lower right
    assert _counts(_read(_placed(digits, spots))[1]) == [1, 1, 1]


def test_a_number_far_off_and_a_height_higher_is_a_line_of_its_own(digits):
    """A number at the left and another eight heights to its right, a height higher: two lines. A line's
    own slant is allowed for over a few heights' gap only; across a wider one (a short line high at the
    right of a page) the pieces must lie on the page's slope."""
    spots = [(0, 1, 2.0), (1, 1.9, 2.0), (2, 11, 1.0), (3, 11.9, 1.0)]
    assert _counts(_read(_placed(digits, spots))[1]) == [1, 1]


def test_a_shadow_under_a_number_makes_no_line(digits):
    image, truth = make_page(np.random.default_rng(3), digits, lengths=[[4, 3]], paper="plain", height=40, **CLEAN)
    gray = image.astype(np.float32) / 255
    x0, _, x1, y1 = truth.boxes[0][0][0], 0, truth.boxes[0][1][2], max(b[3] for b in truth.boxes[0])
    band = np.zeros_like(gray)
    band[y1 + 6 : y1 + 30, x0 - 10 : x1 + 10] = 1
    gray *= 1 - 0.5 * cv2.GaussianBlur(band, (0, 0), 1.5)
    inkmap, found = _read(gray)
    # the shadow is ink to find_ink (a wide component under the number), and layout drops it
    assert any(w > 3 * truth.height and y >= y1 for _, y, w, _, _ in inkmap.stats[1:])
    _assert_matches(found, truth)
    assert found.removed


def _ruled(image: np.ndarray, pitch: float, tone: float) -> np.ndarray:
    """Printed lines under the ink (a dark line never lightens a stroke)."""
    gray = image.astype(np.float32) / 255
    rules = np.ones_like(gray)
    for y in np.arange(10, gray.shape[0], pitch):
        cv2.line(rules, (0, int(y)), (gray.shape[1], int(y)), tone, 1)
    cv2.line(rules, (int(0.05 * gray.shape[1]), 0), (int(0.05 * gray.shape[1]), gray.shape[0]), tone, 1)  # the margin
    return np.minimum(gray, rules)


def test_ruled_paper_lines_are_dropped(digits):
    image, truth = make_page(np.random.default_rng(4), digits, lengths=[[3, 4], [5], [2, 2]], paper="plain", height=36, **CLEAN)
    inkmap, found = _read(_ruled(image, 1.4 * truth.height, 0.5))
    # find_ink keeps dark printed lines as ink, spanning the page ...
    assert any(w > 0.8 * inkmap.mask.shape[1] for _, _, w, _, _ in inkmap.stats[1:])
    # ... layout removes them
    assert "rules" in found.removed
    assert all(w < 0.5 * inkmap.mask.shape[1] for _, _, w, _, _ in found.inkmap.stats[1:])
    _assert_matches(found, truth)


def test_a_stroke_along_a_printed_line_is_kept(digits):
    """A pen stroke lying on a faint ruled line (the bar of a 7 written on it) is ink, not paper."""
    image, truth = make_page(np.random.default_rng(4), digits, lengths=[[3, 4], [5]], paper="plain", height=36, **CLEAN)
    pitch = 1.4 * truth.height
    gray = np.ascontiguousarray(_ruled(image, pitch, 0.55))
    rule = int(10 + 2 * pitch)  # a ruled line below the digits
    x, h = 20, int(truth.height)
    cv2.line(gray, (x, rule), (x + int(0.7 * h), rule), 0.1, 2)  # a 7 whose bar lies on the line
    cv2.line(gray, (x + int(0.7 * h), rule), (x + int(0.3 * h), rule + h), 0.1, 3)
    inkmap, found = _read(gray)
    assert "rules" in found.removed
    bar = found.inkmap.mask[rule - 1 : rule + 2, x + 3 : x + int(0.6 * h)]
    assert bar.any(0).mean() > 0.9  # the bar is whole
    assert found.inkmap.mask[rule, x + h :].mean() < 0.2  # the line beside it is gone (digits crossing it stay)


def test_a_stroke_along_a_dark_grid_line_is_kept(digits):
    """Fine squares printed dark gray, the pen black: in soft ink the lines are only about 0.25 fainter
    than the pen, and the digits, cut by the grid, measure shorter than they are. The bar of a 7 lying on
    a line is still the pen's."""
    image, truth = make_page(np.random.default_rng(4), digits, lengths=[[3, 4], [5]], paper="plain", height=36, **CLEAN)
    pitch = 0.5 * truth.height
    gray = np.ascontiguousarray(_ruled(image, pitch, 0.3))
    for x in np.arange(10, gray.shape[1], pitch):
        cv2.line(gray, (int(x), 0), (int(x), gray.shape[0]), 0.3, 1)
    rule, x, h = int(10 + 5 * pitch), int(10 + 13 * pitch), int(truth.height)  # right of the second line
    cv2.line(gray, (x, rule), (x + int(0.9 * h), rule), 0.05, 2)
    cv2.line(gray, (x + int(0.9 * h), rule), (x + int(0.4 * h), rule + h), 0.05, 3)
    _, found = _read(gray)
    assert "rules" in found.removed
    assert found.inkmap.mask[rule - 1 : rule + 2, x + 3 : x + int(0.8 * h)].any(0).mean() > 0.9  # the bar is whole
    assert not found.inkmap.mask[rule, x + int(1.3 * h) :].any()  # the line beside it is gone


def test_a_stroke_along_a_printed_line_is_kept_beside_a_shadow():
    """The pen's darkness is measured on pieces a few digits big: a shadow below the writing (faint ink,
    and more of it than the digits) passed for the pen, the printed line then looked no fainter than the
    pen, and the bar of a 7 lying on the line went with it."""
    mask = np.zeros((200, 400), bool)
    ink = np.zeros(mask.shape, np.float32)
    for k in range(3):  # three bold digit-high strokes, dark
        mask[60:100, 20 + 30 * k : 25 + 30 * k] = True
    seven = np.zeros(mask.shape, np.uint8)
    cv2.line(seven, (200, 50), (235, 50), 1, 2)  # its bar on the line
    cv2.line(seven, (235, 50), (215, 90), 1, 4)
    mask |= seven.view(bool)
    ink[mask] = 1.0
    mask[50:52, :] = True  # the printed line
    mask[130:, :] = True  # the shadow
    ink[mask & (ink == 0)] = 0.3
    ink[130:, :] = 0.45
    cleaned, removed = _clean(ink, mask)
    assert "rules" in removed
    assert cleaned.mask[49:53, 203:232].any(0).mean() > 0.9  # the bar is whole
    assert not cleaned.mask[50:52, 250:].any()  # the line beside it is gone


def test_strokes_along_a_short_printed_line_are_kept():
    """Three 7s written on one short line (a row of a table) put more pen than a twentieth of the line's
    pixels on it: the line's own spread is measured from its median, not from a high percentile that
    the pen's strokes lift to their own darkness."""
    mask = np.zeros((160, 400), bool)
    ink = np.zeros(mask.shape, np.float32)
    for k in range(3):  # a line of digits below (bold strokes) ...
        mask[100:150, 40 + 120 * k : 45 + 120 * k] = True
    for k in range(3):  # ... and three 7s, each bar on the line, the pen's ink a little uneven along it
        x = 40 + 120 * k
        seven = np.zeros(mask.shape, np.uint8)
        cv2.line(seven, (x + 35, 30), (x + 15, 80), 1, 4)
        mask |= seven.view(bool)
        mask[30:32, x : x + 36] = True
        ink[30:32, x : x + 36] = np.linspace(0.8, 1.0, 36)
    ink[mask & (ink == 0)] = 1.0
    mask[30:32, :] = True  # the printed line, its ink a little uneven too
    line = mask & (ink == 0)
    ink[line] = np.random.default_rng(0).uniform(0.25, 0.35, int(line.sum()))
    cleaned, removed = _clean(ink, mask)
    assert "rules" in removed
    for k in range(3):
        assert cleaned.mask[30:32, 43 + 120 * k : 72 + 120 * k].any(0).mean() > 0.9  # each bar is whole
    assert not cleaned.mask[30:32, :35].any()  # the line beside them is gone


def test_a_thin_digit_a_fine_grid_eats_whole_is_kept():
    """A 1 written slanted in a thin pen on fine squares lies, cut cell by cell, wholly within a stroke of
    the printed lines: no piece of it is left for it to touch. As dark as the pen and digit-sized, it is
    the pen's."""
    mask = np.zeros((160, 400), bool)
    ink = np.zeros(mask.shape, np.float32)
    for k in range(4):  # bold digit-high strokes, dark
        mask[60:100, 20 + 30 * k : 25 + 30 * k] = True
    one = np.zeros(mask.shape, np.uint8)
    cv2.line(one, (262, 60), (244, 100), 1, 1)  # the thin 1, as tall as the digits
    mask |= one.view(bool)
    ink[mask] = 1.0
    for y in range(5, 160, 6):  # squares 6 px apart, printed light
        mask[y, :] = True
    for x in range(5, 400, 6):
        mask[:, x] = True
    ink[mask & (ink == 0)] = 0.35
    cleaned, removed = _clean(ink, mask)
    assert "rules" in removed
    assert cleaned.mask[one.view(bool)].mean() > 0.9  # the 1 is kept
    assert not cleaned.mask[:, 300:].any()  # the squares beside it are gone


def test_a_small_sheet_of_dark_squares(digits):
    """Squares printed as dark as a mid-gray pen on a sheet hardly wider than a line of digits: all the
    ink is one piece, printed lines and digits. Many lines' worth of printed ink is a sheet (removed like
    any ruled page), not a frame around a digit or a long 1."""
    image, truth = make_page(np.random.default_rng(4), digits, lengths=[[3, 4], [5], [2, 2]], paper="plain", height=36, **CLEAN)
    pitch = 0.8 * truth.height
    gray = np.ascontiguousarray(_ruled(image, pitch, 0.5))
    for x in np.arange(0, gray.shape[1], pitch):
        cv2.line(gray, (int(x), 0), (int(x), gray.shape[0]), 0.5, 1)
    inkmap, found = _read(gray)
    assert inkmap.count == 1  # the grid joins everything
    _assert_matches(found, truth)


def test_a_faint_crossing_left_of_a_printed_grid_is_paper():
    """What is left of faint squared paper after its lines go can be a crossing (a T, a +) of thin, faint
    ink: paper, though its bars make it more than a hairline's area for its length."""
    mask = np.zeros((120, 200), bool)
    ink = np.zeros(mask.shape, np.float32)
    for k in range(3):  # three bold digit-high strokes, dark
        mask[30:70, 20 + 30 * k : 25 + 30 * k] = True
    ink[mask] = 1.0
    mask[20:90, 160] = mask[20, 140:181] = mask[89, 140:181] = True  # a faint line piece with two crossings
    ink[mask & (ink == 0)] = 0.15
    cleaned, removed = _clean(ink, mask)
    assert "faint" in removed
    assert not cleaned.mask[:, 140:].any() and cleaned.mask[30:70, 20:25].all()


@pytest.mark.parametrize("ruled", [True, False])
def test_a_faded_line_end_is_paper(ruled):
    """The end of a printed line that fades out under uneven light is left as a faint stroke two pixels
    wide, apart from the rest of its line (it read as a "1" above the first line). Faint ink beyond a
    stroke's reach of any dark ink is paper on any sheet, the bold strokes stay."""
    mask = np.zeros((160, 400), bool)
    ink = np.zeros(mask.shape, np.float32)
    for k in range(3):  # three bold digit-high strokes, dark
        mask[60:100, 20 + 30 * k : 25 + 30 * k] = True
    ink[mask] = 1.0
    if ruled:
        mask[120:122, :] = True  # a printed line across the sheet
        ink[120:122, :] = np.maximum(ink[120:122, :], 0.5)
    mask[0:60, 300:302] = True  # the faded end of another
    ink[0:60, 300:302] = 0.2
    cleaned, removed = _clean(ink, mask)
    assert cleaned.mask[60:100, 20:25].all()
    assert not cleaned.mask[:, 300:302].any() and "faint" in removed


def test_a_printed_line_broken_by_a_gap_goes_whole():
    """A printed line with a gap in its ink (light fading along it): the piece beyond the gap is too short
    to be a line by itself and read as a "1". It is as thin as the line and runs on where the line does."""
    mask = np.zeros((240, 400), bool)
    for k in range(3):  # three bold digit-high strokes
        mask[100:140, 20 + 30 * k : 25 + 30 * k] = True
    mask[0:36, 300:302] = True  # the piece above the gap ...
    mask[44:240, 300:302] = True  # ... and the rest of the line
    ink = np.where(mask, np.float32(0.6), np.float32(0))
    ink[100:140, :100][mask[100:140, :100]] = 1.0
    cleaned, removed = _clean(ink, mask)
    assert removed == ["rules"]
    assert not cleaned.mask[:, 290:].any()
    assert cleaned.mask[100:140, 20:25].all()


def test_ruled_and_squared_paper_from_the_generator(digits):
    for paper, seed in (("ruled", 5), ("squared", 6)):
        image, truth = make_page(np.random.default_rng(seed), digits, lengths=[[4, 2], [3], [5, 1]], paper=paper,
                                 height=40, shadow=False, show_through=False, perspective=False, slant=3.0)
        _assert_matches(_read(image)[1], truth)


def test_a_coloured_note(digits):
    image, truth = make_page(np.random.default_rng(7), digits, lengths=[[2, 3], [4]], paper="note", color=True,
                             shadow=False, show_through=False, slant=5.0)
    assert image.ndim == 3
    _assert_matches(_read(image)[1], truth)


def test_a_turned_page(digits):
    """A page turned by 12 degrees: its lines slant, and are still told apart and read in order."""
    image, truth = make_page(np.random.default_rng(8), digits, lengths=[[3, 3], [5], [2, 4]], paper="plain", **CLEAN)
    h, w = image.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), 12, 1.0)
    turned = cv2.warpAffine(image, m, (w, h + int(0.25 * w)), borderValue=int(np.median(image)))
    assert _counts(_read(turned)[1]) == [2, 1, 2]


def test_specks_and_broken_strokes_stay_out_of_the_count(digits):
    image, truth = make_page(np.random.default_rng(9), digits, lengths=[[3, 2], [4]], paper="plain", height=48, **CLEAN)
    noisy = image.copy()
    rng = np.random.default_rng(0)
    for y, x in zip(rng.integers(0, image.shape[0], 40), rng.integers(0, image.shape[1], 40)):
        cv2.circle(noisy, (int(x), int(y)), 1, 0, -1)  # specks, some on the lines
    # the digits of the first number broken in two across their middle: the pieces stay with their number
    x0, y0, x1, y1 = truth.boxes[0][0]
    noisy[(y0 + y1) // 2 - 2 : (y0 + y1) // 2 + 2, x0:x1] = 255
    _assert_matches(_read(noisy)[1], truth)


def test_restricted_map_reads_with_segment_unchanged(digits):
    image, truth = make_page(np.random.default_rng(10), digits, lengths=[[3, 2], [4]], paper="plain", height=48, **CLEAN)
    inkmap, found = _read(image)
    _assert_matches(found, truth)
    for line, texts in zip(found.lines, truth.lines):
        for region, text in zip(line.numbers, texts):
            part = restrict(found.inkmap, region.labels)
            assert part.count == len(region.labels) and part.mask.shape == inkmap.mask.shape
            assert set(np.unique(part.labels)) == set(range(part.count + 1))
            assert not part.ink[~cv2.dilate(part.mask.view(np.uint8), np.ones((3, 3), np.uint8)).view(bool)].any()
            pieces = segment(part)  # reads the number alone: its pieces, all of its ink, nothing else
            box = to_input_box(region.box, found.inkmap)
            assert all(b[0] >= box[0] and b[2] <= box[2] and b[1] >= box[1] and b[3] <= box[3] for b in pieces.boxes)
            assert len(text) <= len(pieces.pieces) <= len(text) + text.count("5")  # without a score, a 5's bar may stand apart
            assert sum(p.area for p in pieces.pieces) == part.mask.sum()


def test_nothing_to_lay_out():
    assert layout(find_ink(np.full((200, 300), 0.9, np.float32))).lines == []
    empty = restrict(find_ink(np.full((50, 50), 0.9, np.float32)), [])
    assert empty.count == 0 and not empty.mask.any()


def test_work_is_bounded(digits, monkeypatch):
    """At most MAX_COMPONENTS components (the largest) are considered."""
    image, _ = make_page(np.random.default_rng(11), digits, lengths=[[6, 6], [6, 6]], paper="plain", **CLEAN)
    monkeypatch.setattr(layout_module, "MAX_COMPONENTS", 10)
    found = layout(find_ink(decode(image)))
    assert 0 < sum(len(ln.labels) for ln in found.lines) <= 10


def test_the_bar_of_a_5_drawn_apart_stays_with_its_digit_where_a_dash_does_not(digits):
    """A long flat piece is no digit (a dash, an underline), but one lying on top of a digit as a unit
    with it is the bar of a 5 or a 7, drawn apart (on a turned page, wider than a digit is tall)."""
    height = 40
    image = _placed(digits, [(k, 1 + 0.9 * k, 1) for k in range(3)] + [(3 + k, 6 + 0.9 * k, 1) for k in range(3)], height)
    inkmap, found = _read(image)
    top = int(inkmap.stats[1:, 1].min())  # the digits' highest ink
    under = int((inkmap.stats[1:, 1] + inkmap.stats[1:, 3]).max())
    x2 = int(inkmap.stats[1:, 0][inkmap.stats[1:, 0] < 4 * height].max())  # the third digit's left edge
    marked = image.copy()
    cv2.line(marked, (x2, top - 6), (x2 + int(1.5 * height), top - 6), 0, 3)  # a bar over the third digit
    cv2.line(marked, (6 * height, under + 8), (int(7.6 * height), under + 8), 0, 3)  # an underline
    cv2.line(marked, (int(8.9 * height), int(1.5 * height)), (int(10.4 * height), int(1.5 * height)), 0, 3)  # a dash after
    found = _read(marked)[1]
    assert _counts(found) == [2]
    labels = found.inkmap.labels  # the cleaned map's, which the regions name
    bar, underline, dash = (int(labels[y, x]) for y, x in (
        (top - 6, x2 + int(1.2 * height)), (under + 8, int(6.8 * height)), (int(1.5 * height), int(9.6 * height))))
    assert 0 < bar != underline != dash > 0
    kept = np.concatenate([n.labels for n in found.lines[0].numbers])
    assert bar in found.lines[0].numbers[0].labels
    assert underline not in kept and dash not in kept
