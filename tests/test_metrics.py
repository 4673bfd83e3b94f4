"""Our metrics against scikit-learn's on the same predictions."""

import numpy as np
import pytest
from sklearn import metrics as skm

from handwritten_digits.evaluation.calibration import expected_calibration_error, fit_temperature
from handwritten_digits.evaluation import metrics as ours
from handwritten_digits.evaluation.metrics import error_reject_curve, evaluate_probabilities


def _predictions(seed, n=2000, sharp=3.0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    logits = rng.normal(size=(n, 10)) + sharp * np.eye(10)[labels]
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    return labels, probs


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_sklearn(seed):
    labels, probs = _predictions(seed)
    predicted = probs.argmax(1)
    m = evaluate_probabilities(labels, probs)
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(labels, predicted))
    p, r, f, s = skm.precision_recall_fscore_support(labels, predicted, labels=range(10), zero_division=0)
    np.testing.assert_allclose(m["per_class"]["precision"], p)
    np.testing.assert_allclose(m["per_class"]["recall"], r)
    np.testing.assert_allclose(m["per_class"]["f1"], f)
    np.testing.assert_array_equal(m["per_class"]["support"], s)
    np.testing.assert_array_equal(m["confusion_matrix"], skm.confusion_matrix(labels, predicted, labels=range(10)))
    assert m["log_loss"] == pytest.approx(skm.log_loss(labels, probs, labels=range(10)), rel=1e-9)
    assert m["top2_accuracy"] == pytest.approx(skm.top_k_accuracy_score(labels, probs, k=2, labels=range(10)))
    assert m["macro_f1"] == pytest.approx(skm.f1_score(labels, predicted, average="macro", zero_division=0))


def _reference_ece(labels, probs, bins=15):
    """The textbook loop (Guo et al. 2017): bins (lo, hi], weight = share of samples in the bin."""
    conf, correct = probs.max(1), probs.argmax(1) == labels
    total = 0.0
    for lo, hi in zip(np.linspace(0, 1, bins + 1)[:-1], np.linspace(0, 1, bins + 1)[1:]):
        inside = (conf > lo) & (conf <= hi)
        if inside.any():
            total += inside.mean() * abs(correct[inside].mean() - conf[inside].mean())
    return total


@pytest.mark.parametrize("seed,sharp", [(0, 3.0), (1, 1.0), (2, 8.0)])
def test_ece_and_reliability(seed, sharp):
    labels, probs = _predictions(seed, sharp=sharp)
    m = evaluate_probabilities(labels, probs)
    assert m["ece"] == pytest.approx(_reference_ece(labels, probs), abs=1e-12)
    assert sum(m["reliability"]["count"]) == len(labels) and len(m["reliability"]["count"]) == 15
    # a confidence exactly on a bin edge belongs to the lower bin, as in the reference
    edge = np.full((1, 10), (1 - 0.6) / 9)
    edge[0, 3] = 0.6
    assert ours.reliability_bins(np.array([3]), edge)["count"][8] == 1  # (8/15, 9/15] holds 0.6


def test_real_ish_predictions(data_dir):
    """A nearest-centroid classifier on real MNIST digits: imperfect, unevenly confident predictions."""
    from handwritten_digits.data import load_dataset

    images, labels = load_dataset("val", data_dir)
    x, y = images[:3000].reshape(3000, -1), labels[:3000]
    centroids = np.stack([x[:1500][y[:1500] == k].mean(0) for k in range(10)])
    d = ((x[1500:, None, :] - centroids[None]) ** 2).sum(-1)
    probs = np.exp(-(d - d.min(1, keepdims=True)).astype(np.float64) / 4.0)
    probs /= probs.sum(1, keepdims=True)
    y = y[1500:]
    m = evaluate_probabilities(y, probs)
    predicted = probs.argmax(1)
    assert 0.6 < m["accuracy"] < 0.95  # realistic, not trivial
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, predicted))
    np.testing.assert_allclose(m["per_class"]["f1"], skm.f1_score(y, predicted, average=None, labels=range(10)))
    np.testing.assert_array_equal(m["confusion_matrix"], skm.confusion_matrix(y, predicted, labels=range(10)))
    assert m["log_loss"] == pytest.approx(skm.log_loss(y, probs, labels=range(10)), rel=1e-9)
    assert m["top2_accuracy"] == pytest.approx(skm.top_k_accuracy_score(y, probs, k=2, labels=range(10)))
    assert m["ece"] == pytest.approx(_reference_ece(y, probs), abs=1e-12)
    # rejecting the least confident digits lowers the error among the rest
    curve = m["error_reject"]
    assert curve["error"][0] == pytest.approx(m["error_rate"]) and curve["error"][50] < curve["error"][0]


def test_perfect_predictions():
    labels = np.arange(50) % 10
    probs = np.eye(10)[labels]
    m = evaluate_probabilities(labels, probs)
    assert m["accuracy"] == m["top2_accuracy"] == m["macro_f1"] == 1.0 and m["error_rate"] == 0.0
    assert m["log_loss"] == pytest.approx(0.0, abs=1e-12) and m["ece"] == pytest.approx(0.0)
    assert m["error_reject"]["reject_for_0.1%_error"] == 0.0
    np.testing.assert_array_equal(m["confusion_matrix"], np.diag([5] * 10))


def test_target_reached_only_by_rejecting_everything():
    labels = np.zeros(20, dtype=int)
    probs = np.full((20, 10), 0.05)
    probs[:, 1] = 0.55  # every prediction wrong, all equally confident
    curve = error_reject_curve(labels, probs)
    assert curve["reject_for_0.1%_error"] == 1.0
    assert all(e == 1.0 for e in curve["error"])


def test_bad_shapes():
    with pytest.raises(ValueError):
        evaluate_probabilities(np.array([], dtype=int), np.zeros((0, 10)))
    with pytest.raises(ValueError):
        evaluate_probabilities(np.array([1, 2]), np.full((3, 10), 0.1))


def test_class_never_predicted():
    labels = np.array([0, 1, 2, 2])
    probs = np.full((4, 10), 0.01)
    probs[[0, 1, 2, 3], [0, 1, 1, 1]] = 0.91
    m = evaluate_probabilities(labels, probs)
    p, r, f, _ = skm.precision_recall_fscore_support(labels, probs.argmax(1), labels=range(10), zero_division=0)
    np.testing.assert_allclose(m["per_class"]["precision"], p)
    np.testing.assert_allclose(m["per_class"]["f1"], f)
    assert m["per_class"]["recall"][2] == 0


def test_error_reject_curve():
    labels = np.arange(10) % 10
    probs = np.full((10, 10), 0.0)
    probs[np.arange(10), labels] = np.linspace(0.95, 0.5, 10)
    probs[9] = 0.0
    probs[9, 0] = 0.4  # the least confident digit is the one mistake
    probs[9, 9] = 0.1
    curve = error_reject_curve(labels, probs)
    assert curve["error"][0] == pytest.approx(0.1)
    assert curve["reject_for_0.1%_error"] == pytest.approx(0.1)
    perfect = error_reject_curve(labels, np.eye(10)[labels])
    assert perfect["reject_for_0.1%_error"] == 0.0


def test_temperature_scaling_lowers_nll_and_ece():
    rng = np.random.default_rng(5)
    true_logits = rng.normal(size=(6000, 10)) * 2.5
    probs = _softmax(true_logits)
    labels = np.array([rng.choice(10, p=p) for p in probs])  # labels drawn from calibrated probabilities
    logits = true_logits * 4  # the same model, four times overconfident
    t = fit_temperature(logits, labels)
    assert 3.5 < t < 4.5
    before = skm.log_loss(labels, _softmax(logits), labels=range(10))
    after = skm.log_loss(labels, _softmax(logits / t), labels=range(10))
    assert after < before
    assert expected_calibration_error(_softmax(logits / t), labels) < expected_calibration_error(_softmax(logits), labels)


def _softmax(z):
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)
