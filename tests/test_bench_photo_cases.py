"""The photo-cases benchmark: notes on a desk seen all round, numbers cropped tight."""

from __future__ import annotations

import numpy as np

from benchmarks.bench_photo_cases import desk_notes, on_a_desk, tight_crops
from benchmarks.readme_pages import cases_text


def test_the_desk_shows_all_round():
    out = on_a_desk(np.full((100, 200), 255, np.uint8), 60, 0.15, 0.0)
    assert out.shape == (160, 260, 3)
    assert (out[:30] == 60).all() and (out[:, -30:] == 60).all() and (out[30:130, 30:230] == 255).all()


def test_a_few_cases_add_up(data_dir):
    from handwritten_digits.data import load_dataset
    from handwritten_digits.reading.reader import Reader

    read, digits = Reader.load("default-int8", threads=1).read, load_dataset("val", data_dir)
    notes = desk_notes(read, digits, 2, 4, 10.0)
    assert 0 < notes["lines_right"] <= notes["lines"] and notes["pages_exact"] <= notes["pages"] == 2
    crops = tight_crops(read, digits, 4, 3, [2, 5])
    assert 0 < crops["numbers"] <= 4 and crops["right_uncropped"] <= crops["numbers"]
    assert all(r["right"] + r["blank"] <= crops["numbers"] for r in crops["by_margin"].values())
    text = cases_text({"digits": "MNIST val", "command": "python -m benchmarks.bench_photo_cases",
                       "desk": {"gray": 60, "by_turn": {"10.0": notes}}, "crops": crops})
    assert "turned 10 degrees" in text and "at 5 px" in text
