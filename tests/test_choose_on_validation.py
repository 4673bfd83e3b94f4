"""The model-choice rule: MNIST validation first, photo digits and numbers must not drop."""

from __future__ import annotations

from benchmarks.choose_on_validation import choose


def row(name, val, photos, numbers):
    return {"model": name, "mnist_val": val, "val_photo_digits": photos, "val_numbers": numbers}


def test_a_better_candidate_replaces_the_incumbent():
    rows = [row("old", 0.9970, 0.995, 0.95), row("a", 0.9972, 0.995, 0.95), row("b", 0.9974, 0.996, 0.96)]
    assert choose(rows)["model"] == "b"


def test_a_candidate_that_loses_on_photos_or_numbers_does_not():
    rows = [row("old", 0.9970, 0.995, 0.95), row("photos", 0.9980, 0.994, 0.97), row("numbers", 0.9980, 0.996, 0.94)]
    assert choose(rows)["model"] == "old"


def test_ties_on_mnist_keep_the_incumbent():
    assert choose([row("old", 0.997, 0.99, 0.9), row("same", 0.997, 1.0, 1.0)])["model"] == "old"
