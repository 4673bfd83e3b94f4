"""The model-choice rule: reject marks, keep digits, photo digits, numbers and page lines within slack, then accuracy over sources."""

from __future__ import annotations

from benchmarks.choose_on_validation import choose


def row(name, mean, photos=0.995, numbers=0.95, marks=0.0, digits_rejected=0.0, page_lines=0.94):
    return {"model": name, "digit_sources_mean": mean, "val_photo_digits": photos, "val_numbers": numbers,
            "val_marks_rejected": marks, "mnist_val_rejected": digits_rejected, "val_page_lines": page_lines}


def test_a_better_candidate_replaces_the_incumbent():
    rows = [row("old", 0.990), row("a", 0.992), row("b", 0.994, 0.996, 0.96)]
    assert choose(rows)["model"] == "b"


def test_a_candidate_that_loses_on_photos_or_numbers_does_not():
    rows = [row("old", 0.990), row("photos", 0.998, photos=0.985), row("numbers", 0.998, numbers=0.94)]
    assert choose(rows)["model"] == "old"


def test_a_candidate_that_loses_lines_of_pages_does_not():
    assert choose([row("old", 0.990), row("pages", 0.998, page_lines=0.93)])["model"] == "old"
    assert choose([row("old", 0.990), row("level", 0.998, page_lines=0.936)])["model"] == "level"  # within 0.5 point


def test_ties_keep_the_incumbent():
    assert choose([row("old", 0.997), row("same", 0.997, 1.0, 1.0)])["model"] == "old"


def test_once_a_model_rejects_marks_only_such_models_are_chosen():
    rows = [row("old", 0.995), row("open", 0.993, marks=0.97), row("closed", 0.999)]
    assert choose(rows)["model"] == "open"
    # ... unless it rejects too many digits
    rows = [row("old", 0.995), row("open", 0.993, marks=0.97, digits_rejected=0.006)]
    assert choose(rows)["model"] == "old"


def test_an_incumbent_that_rejects_marks_keeps_its_place_against_worse_ones():
    rows = [row("old", 0.995, marks=0.96), row("worse", 0.994, marks=0.99), row("blind", 0.999)]
    assert choose(rows)["model"] == "old"
