"""The page benchmark's split of wrong lines: a digit the model misreads alone, or the page."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from benchmarks.bench_pages import alone
from benchmarks.readme_pages import alone_text
from benchmarks.scoring import line_matches
from handwritten_digits.data.pages import PageTruth


class _FirstPixel:
    """A recognizer that reads each image's first pixel as its digit: the images say what it reads."""

    def predict_proba(self, images):
        probs = np.zeros((len(images), 11), np.float32)
        probs[np.arange(len(images)), images[:, 0, 0].astype(int)] = 1.0
        return probs


def test_wrong_lines_are_split_between_digits_misread_alone_and_the_page():
    labels = np.array([1, 2, 3, 4, 5, 6, 7])
    images = np.zeros((7, 28, 28), np.float32)
    images[:, 0, 0] = [1, 2, 3, 4, 5, 0, 7]  # the 6 is misread alone
    reader = SimpleNamespace(recognizer=_FirstPixel())
    truths = [PageTruth([["12"], ["3", "4"]], [], "plain", False, 28.0, sources=[0, 1, 2, 3]),
              PageTruth([["5"], ["6"], ["7"]], [], "plain", False, 28.0, sources=[4, 5, 6])]
    assert [t.label for t in truths] == ["12 | 3 4", "5 | 6 | 7"] and truths[0].line_sources == [[0, 1], [2, 3]]
    texts = ["12\n3 9",  # its second line read wrong, all its digits right alone: the page's doing
             "5\n6\n7"]  # the 6, misread alone, read right on the page
    got = alone(reader, (images, labels), truths, texts)
    assert got == {"digit_accuracy": round(6 / 7, 4), "lines": 5, "lines_misread_alone": 1, "of_them_read_right": 1,
                   "lines_wrong_otherwise": 1, "pages": 2, "pages_misread_alone": 1, "of_them_pages_read_right": 1}
    wrong = sum(lines - right for right, lines in (line_matches(t, x.label) for t, x in zip(texts, truths)))
    assert wrong == got["lines_misread_alone"] - got["of_them_read_right"] + got["lines_wrong_otherwise"]  # adds up
    assert alone(reader, (images, labels), truths[1:], ["5\n0\n7"])["of_them_read_right"] == 0
    extra = alone(reader, (images, labels), truths[1:], ["5\n6\n7\n8"])  # a line too many
    assert extra["lines_wrong_otherwise"] == 0 and extra["of_them_read_right"] == 1  # lines right where they stand,
    assert extra["of_them_pages_read_right"] == 0  # as the benchmark's line exact counts them; the page is not exact
    assert "1 of the 5 lines hold a digit the model misreads" in alone_text({"alone": got})


def test_the_ceiling_leaves_out_only_digits_misread_alone_and_not_rescued():
    a = {"digit_accuracy": 0.99, "lines": 100, "lines_misread_alone": 5, "of_them_read_right": 1,
         "lines_wrong_otherwise": 9, "pages": 20, "pages_misread_alone": 4, "of_them_pages_read_right": 2}
    assert "at most 96.0% of lines and 90.0% of pages exact" in alone_text({"alone": a})
    assert "at most" not in alone_text({"alone": {**a, "lines": 0}})  # nothing to bound
