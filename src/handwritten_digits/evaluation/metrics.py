"""Classification metrics from labels and class probabilities (NumPy only; checked against sklearn.metrics)."""

from __future__ import annotations

import numpy as np

TARGET_ERROR = 0.001  # the error–reject operating point reported: 0.1% error among accepted digits
ECE_BINS = 15  # equal-width confidence bins, as in Guo et al. (2017)


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, classes: int = 10) -> np.ndarray:
    """Rows are true classes, columns predicted classes."""
    return np.bincount(labels * classes + predicted, minlength=classes * classes).reshape(classes, classes)


def per_class(cm: np.ndarray) -> dict:
    """Precision, recall, F1 and support per class (0 where undefined, as scikit-learn's zero_division=0)."""
    tp = np.diag(cm).astype(float)
    predicted, support = cm.sum(axis=0), cm.sum(axis=1)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    return {"precision": precision, "recall": recall, "f1": f1, "support": support}


def reliability_bins(labels: np.ndarray, probs: np.ndarray, bins: int = ECE_BINS) -> dict:
    """Mean confidence, accuracy and count per equal-width confidence bin ``(lo, hi]``.

    Empty bins have count 0 and confidence/accuracy ``None`` (JSON null).
    """
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    # bin k holds confidences in (edges[k], edges[k+1]]; a confidence of exactly 0 cannot occur with 10 classes
    which = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, bins - 1)
    count = np.bincount(which, minlength=bins)
    conf_sum = np.bincount(which, weights=confidence, minlength=bins)
    hit_sum = np.bincount(which, weights=correct.astype(float), minlength=bins)
    mean = lambda total: [float(t / c) if c else None for t, c in zip(total, count)]  # noqa: E731
    return {"edges": edges.tolist(), "confidence": mean(conf_sum), "accuracy": mean(hit_sum), "count": count.tolist()}


def expected_calibration_error(labels: np.ndarray, probs: np.ndarray, bins: int = ECE_BINS) -> float:
    """ECE: sum over bins of (bin share) x |accuracy - mean confidence|."""
    rel = reliability_bins(np.asarray(labels), np.asarray(probs, dtype=np.float64), bins)
    n = sum(rel["count"])
    return float(sum(c / n * abs(a - p) for c, a, p in zip(rel["count"], rel["accuracy"], rel["confidence"]) if c))


def error_reject_curve(labels: np.ndarray, probs: np.ndarray, points: int = 101) -> dict:
    """Error rate among accepted digits as the least confident fraction is rejected.

    Returns the curve (rejection rates and errors) and the smallest rejection at which the accepted
    error is at most ``TARGET_ERROR`` (1.0 if only rejecting everything gets there).
    """
    order = np.argsort(-probs.max(axis=1), kind="stable")  # most confident first
    wrong = (probs.argmax(axis=1) != labels)[order]
    n = len(labels)
    kept = np.arange(n, 0, -1)  # accept the k most confident, k = n .. 1
    errors = np.cumsum(wrong)[::-1] / kept  # error among the k most confident
    reject = 1.0 - kept / n
    ok = np.flatnonzero(errors <= TARGET_ERROR)
    needed = float(reject[ok[0]]) if len(ok) else 1.0
    grid = np.linspace(0, 1, points)
    idx = np.clip(np.searchsorted(reject, grid), 0, n - 1)
    return {"reject": grid.tolist(), "error": errors[idx].tolist(), "reject_for_0.1%_error": needed}


def evaluate_probabilities(labels: np.ndarray, probs: np.ndarray) -> dict:
    """All metrics for one model as a JSON-ready dict.

    Parameters
    ----------
    labels : array of int, shape (N,)
        True classes 0-9.
    probs : array of float, shape (N, 10)
        Class probabilities (rows are renormalised for the log-loss, as scikit-learn does).

    Returns
    -------
    dict
        ``n``, ``accuracy`` and ``error_rate`` (fractions in [0, 1]), ``top2_accuracy``, ``log_loss``,
        ``ece`` (15 bins), macro precision/recall/F1, ``per_class`` lists, ``confusion_matrix`` (rows true,
        columns predicted), ``error_reject`` (see :func:`error_reject_curve`) and ``reliability`` bins.
    """
    labels = np.asarray(labels, dtype=np.int64)
    probs = np.asarray(probs, dtype=np.float64)
    if len(labels) == 0:
        raise ValueError("no labelled images to evaluate")
    if probs.ndim != 2 or probs.shape[0] != len(labels):
        raise ValueError(f"probabilities of shape {probs.shape} do not match {len(labels)} labels")
    predicted = probs.argmax(axis=1)
    cm = confusion_matrix(labels, predicted, probs.shape[1])
    pc = per_class(cm)
    top2 = np.argsort(-probs, axis=1)[:, :2]
    p_true = np.clip(probs[np.arange(len(labels)), labels], 1e-15, 1.0)
    return {
        "n": int(len(labels)),
        "accuracy": float((predicted == labels).mean()),
        "error_rate": float((predicted != labels).mean()),
        "top2_accuracy": float((top2 == labels[:, None]).any(axis=1).mean()),
        "log_loss": float(-np.log(p_true / np.clip(probs.sum(axis=1), 1e-15, None)).mean()),
        "ece": expected_calibration_error(labels, probs),
        "macro_precision": float(pc["precision"].mean()),
        "macro_recall": float(pc["recall"].mean()),
        "macro_f1": float(pc["f1"].mean()),
        "per_class": {k: [float(v) for v in pc[k]] for k in ("precision", "recall", "f1", "support")},
        "confusion_matrix": cm.tolist(),
        "error_reject": error_reject_curve(labels, probs),
        "reliability": reliability_bins(labels, probs),
    }
