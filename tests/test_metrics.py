"""Our metrics against scikit-learn's on the same predictions."""

import numpy as np
import pytest
from sklearn import metrics as skm

from handwritten_digits.evaluation.calibration import expected_calibration_error, fit_temperature
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
