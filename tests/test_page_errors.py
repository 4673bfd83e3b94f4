"""The page-errors diagnostic: each wrong line gets its first cause; misread digits are read alone too."""

from __future__ import annotations

from benchmarks.page_errors import line_cause, run
from benchmarks.readme_pages import errors_text
from handwritten_digits.results import DigitResult, NumberResult


def _number(text: str) -> NumberResult:
    digits = [DigitResult(int(c), 0.9, (k, 0, k + 1, 1), [0.0] * 10) for k, c in enumerate(text)]
    return NumberResult(digits, (0, 0, len(text), 1))


def test_a_line_gets_its_first_cause():
    assert line_cause([_number("12"), _number("345")], ["12", "345"]) is None
    assert line_cause([_number("12345")], ["12", "345"]) == "numbers"
    assert line_cause([_number("12"), _number("3455")], ["12", "345"]) == "digits"
    assert line_cause([_number("12"), _number("385")], ["12", "345"]) == "misread"


def test_a_few_pages_add_up(data_dir):
    result, tiles = run(3, 0, "val", "default-int8", data_dir)
    assert result["lines"] > 0 and result["lines_wrong"] == sum(result["causes"].values()) <= result["lines"]
    m = result["misread"]
    assert m["digits"] == m["also_alone"] + m["page_only"] == sum(result["pairs"].values())
    assert len(tiles) == min(m["page_only"], 60)
    assert "lines" in errors_text(result | {"command": "python -m benchmarks.page_errors"})
