"""The page benchmark's ceiling: lines and pages whose every digit the model reads right alone."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from benchmarks.bench_pages import ceiling
from benchmarks.readme_pages import ceiling_text


class _Misreads:
    """A recognizer that reads each image's first pixel as its digit: the digits' images say what it reads."""

    def predict_proba(self, images):
        probs = np.zeros((len(images), 11), np.float32)
        probs[np.arange(len(images)), images[:, 0, 0].astype(int)] = 1.0
        return probs


def test_the_ceiling_counts_lines_and_pages_whose_digits_all_read_right_alone():
    labels = np.array([1, 2, 3, 4, 5, 6])
    images = np.zeros((6, 28, 28), np.float32)
    images[:, 0, 0] = [1, 2, 3, 4, 5, 0]  # the sixth digit (a 6) is read as 0
    reader = SimpleNamespace(recognizer=_Misreads())
    truths = [SimpleNamespace(lines=[["12"], ["3", "4"]], sources=[0, 1, 2, 3]),  # all right
              SimpleNamespace(lines=[["5"], ["6"]], sources=[4, 5])]  # its second line holds the misread 6
    top = ceiling(reader, (images, labels), truths)
    assert top == {"digit_accuracy": round(5 / 6, 4), "lines": 4, "lines_right": 3, "line_exact": 0.75,
                   "pages_right": 1, "page_exact": 0.5}
    assert "3 of these 4 lines" in ceiling_text({"ceiling": top, "pages": 2})
