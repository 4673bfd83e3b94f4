"""benchmarks/scoring.py: the text scores and summaries every page benchmark uses."""

from __future__ import annotations

import random

import pytest

from benchmarks.scoring import (char_accuracy, digits_only, edit_distance, expected, line_matches, median_ms, realdev_items,
                                score, score_rows, summarize_pages, summarize_realdev)


def _reference(a: str, b: str) -> int:
    """Levenshtein by its recursive definition, without the table (exponential: short strings only)."""
    if not a or not b:
        return len(a) + len(b)
    return min(_reference(a[1:], b) + 1, _reference(a, b[1:]) + 1, _reference(a[1:], b[1:]) + (a[0] != b[0]))


def test_edit_distance_matches_the_recursive_definition_on_random_short_strings():
    rng = random.Random(0)
    for _ in range(300):
        a = "".join(rng.choice("01 \n") for _ in range(rng.randint(0, 6)))
        b = "".join(rng.choice("01 \n") for _ in range(rng.randint(0, 6)))
        assert edit_distance(a, b) == _reference(a, b), (a, b)
        assert edit_distance(a, b) == edit_distance(b, a)


@pytest.mark.parametrize("a, b, d", [("", "", 0), ("", "123", 3), ("kitten", "sitting", 3), ("2026", "2062", 2),
                                     ("12 34", "1234", 1), ("12\n34", "12 34", 1)])
def test_edit_distance_known_values(a, b, d):
    assert edit_distance(a, b) == d


def test_expected_and_digits_only():
    assert expected("12 7 | 345 | 6") == "12 7\n345\n6"
    assert expected("12 7\n345") == "12 7\n345"  # already in the reading format
    assert digits_only("12 7\n 345\t") == "127345"


def test_char_accuracy_counts_structure_and_is_clipped_at_zero():
    assert char_accuracy("12 34", "12 34") == 1.0
    assert char_accuracy("1234", "12 34") == pytest.approx(0.8)  # the missing space is one edit of five
    assert char_accuracy("12 35", "12 34") == pytest.approx(0.8)
    assert char_accuracy("99999999", "1") == 0.0  # eight edits for a one-character truth
    assert char_accuracy("", "") == 1.0 and char_accuracy("1", "") == 0.0


def test_line_matches_compares_lines_position_by_position():
    assert line_matches("12 7\n345", "12 7 | 345") == (2, 2)
    assert line_matches("12 7\n346", "12 7 | 345") == (1, 2)
    assert line_matches("12 7", "12 7 | 345") == (1, 2)  # a missed line is wrong
    assert line_matches("9\n12 7\n345", "12 7 | 345") == (0, 2)  # an extra line on top shifts every line
    assert line_matches("12 7\n345\n9", "12 7 | 345") == (2, 2)  # one below the last line costs nothing here
    assert line_matches("", "5") == (0, 1)


def test_score_on_a_grid_read_as_one_number_per_row():
    s = score("123\n45", "1 2 3 | 4 5")
    assert s["exact"] is False and s["exact_digits"] is True
    assert s["char_accuracy"] == pytest.approx(1 - 3 / 9)  # three spaces missing, nine characters
    assert s["char_accuracy_digits"] == 1.0
    assert score("1 2 3\n4 5", "1 2 3 | 4 5") == {"exact": True, "exact_digits": True, "char_accuracy": 1.0,
                                                   "char_accuracy_digits": 1.0}


def test_page_scores_count_lines_at_their_position_and_errors_as_empty():
    items = [{"id": "p0", "kind": "plain", "label": "12 7\n345", "path": "p0"},
             {"id": "p1", "kind": "grid", "label": "1 2\n3 4\n5", "path": "p1"},
             {"id": "p2", "kind": "plain", "label": "9", "path": "p2"}]
    readings = {"p0": {"text": "12 7\n345", "ms": 10.0}, "p1": {"text": "1 2\n34\n5", "ms": 30.0}, "p2": {"error": "x"}}
    rows = score_rows(items, readings)
    summary = summarize_pages(rows)
    assert (summary["lines"], summary["lines_right"]) == (6, 4)
    assert summary["line_exact"] == pytest.approx(4 / 6, abs=1e-4)
    assert summary["page_exact"] == pytest.approx(1 / 3, abs=1e-4)
    assert summary["page_exact_digits"] == pytest.approx(2 / 3, abs=1e-4)
    assert summary["char_accuracy"] == pytest.approx((1 + (1 - 1 / 9) + 0) / 3, abs=1e-4)
    assert summary["errors"] == 1 and median_ms(rows) == 20.0  # an engine error has no time
    assert summary["by_kind"]["grid"]["lines_right"] == 2


def test_realdev_scores_by_kind(tmp_path):
    (tmp_path / "labels.csv").write_text("file,label,kind,source\na.png,5,single,x\nb.png,1 2 | 3,multi,x\n"
                                         "c.png,17,number,x\n")
    items = realdev_items(tmp_path)
    assert [i["kind"] for i in items] == ["single", "multi", "number"] and items[1]["label"] == "1 2 | 3"
    readings = {str(tmp_path / "a.png"): {"text": "5", "ms": 1.0}, str(tmp_path / "b.png"): {"text": "12\n3", "ms": 2.0},
                str(tmp_path / "c.png"): {"text": "", "ms": 3.0}}
    rows = score_rows(items, readings)
    summary = summarize_realdev(rows)
    assert summary["by_kind"]["single"]["exact"] == 1
    assert (summary["by_kind"]["multi"]["exact"], summary["by_kind"]["multi"]["exact_digits"]) == (0, 1)
    assert summary["by_kind"]["number"]["char_accuracy"] == 0.0
    assert summary["all"]["exact"] == 1 and median_ms(rows) == 2.0
