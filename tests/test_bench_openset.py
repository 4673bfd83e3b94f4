"""The open-set benchmark's measures and its README section, on small hand-made figures."""

import numpy as np

from benchmarks.bench_openset import by_kind, risk_coverage, threshold_tradeoff
from benchmarks.readme_openset import section


def test_risk_coverage_keeps_the_most_confident_first():
    probs = np.zeros((4, 11))
    probs[[0, 1, 2, 3], [3, 5, 7, 2]] = [0.99, 0.9, 0.6, 0.4]  # the least confident one is wrong
    curve = risk_coverage(probs, np.array([3, 5, 7, 9]), points=4)
    assert curve["coverage"] == [0.25, 0.5, 0.75, 1.0]
    assert curve["risk"] == [0.0, 0.0, 0.0, 0.25]


def test_the_tradeoff_counts_rejections_at_each_threshold():
    digits = np.zeros((4, 11))
    digits[:, 10] = [0.01, 0.03, 0.2, 0.6]
    marks = np.zeros((2, 11))
    marks[:, 10] = [0.5, 0.99]
    trade = threshold_tradeoff({"mnist-test": digits}, marks)
    at = trade["threshold"].index(0.5)
    assert trade["mnist-test"][at] == 0.25 and trade["marks"][at] == 1.0
    assert threshold_tradeoff({"mnist-test": digits[:, :10]}, marks[:, :10]) == {}  # no such class


def test_rejections_are_counted_per_kind():
    assert by_kind(["dot", "dot", "letter"], [True, False, True]) == {"dot": {"n": 2, "rejected": 0.5},
                                                                      "letter": {"n": 1, "rejected": 1.0}}


def test_the_readme_section_names_the_targets_and_the_figures():
    res = {"model": {"name": "m", "classes": 11, "not_digit_threshold": 0.4, "trained_on": "mixed"}, "seed": 1,
           "command": "python -m benchmarks.bench_openset",
           "marks": {"inputs": {"n": 10, "rejected": 0.97, "by_kind": {"dot": {"n": 10, "rejected": 0.97}}},
                     "images": {"n": 5, "rejected": 0.8, "by_kind": {"dot": {"n": 5, "rejected": 0.8}}}},
           "digits": {"mnist-test": {"n": 10000, "accuracy": 0.997, "rejected": 0.002, "accuracy_kept": 0.998, "ece": 0.004}}}
    text = section({"openset": res, "openset-before": {"digits": {"mnist-test": {"accuracy": 0.9971}}}})
    assert "97.0% rejected" in text and "target 95%" in text
    assert "| MNIST test | 10,000 | 99.70% | 0.20% | 99.80% |" in text and "99.71%" in text
    assert section({}).startswith("Not a digit: ")
