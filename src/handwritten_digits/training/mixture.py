"""``--data mixed``: MNIST plus three more sources of writers, plus marks that are not digits.

A model trained on MNIST alone reads every mark as some digit, and misreads writing styles MNIST
hardly has (a 1 with a long flag, a crossed 7, an open 4). The mixture adds:

* **writers**: pendigits (pen trajectories drawn as the page's canvas draws them), optdigits and USPS
  train (:func:`handwritten_digits.data.writers.load_writers`), each with its own held-out writers;
* **not a digit** (class ``NOT_DIGIT``): letters, symbols, scribbles, shapes, paper and parts of
  digits (:func:`handwritten_digits.data.negatives.negative_inputs`), built from training digits for
  training and from validation digits for validation;
* **several digits** (class ``SEVERAL``): touching pairs and columns of digits. Apart from marks: a
  piece of several digits is for the segmenter to cut, never a mark to drop, so the reader must
  tell the two apart (a letter cut into strokes reads as "1"s; a pair cut in two reads right).

Validation keeps each source in its own slice (``parts``), so a model card can report accuracy and
calibration per source.
"""

from __future__ import annotations

import numpy as np

NOT_DIGIT = 10  # the class index of "not a digit"
SEVERAL = 11  # the class index of "several digits" in one piece
CLASSES = list(range(10)) + ["not a digit", "several digits"]
NEGATIVE_SHARE = 0.25  # of the training set (and of validation): marks that are not digits, and several digits
COPIES = {"pendigits": 2, "optdigits": 3, "usps": 1}  # renderings per training digit: small sources weigh more


def add_sources(train, val, seed: int = 0, limit: int | None = None, external_dir=None, weight: int = 1):
    """The mixture around MNIST's ``train`` and ``val`` ((images, labels) each).

    Parameters
    ----------
    train, val : (ndarray (N, 28, 28), ndarray (N,))
        MNIST training digits (with any photo-like inputs already added) and validation digits.
    seed : int
    limit : int, optional
        At most this many images per extra source (quick runs).
    external_dir : path, optional
        Where ``pendigits/``, ``optdigits/`` and ``usps/`` are (default: see ``locate_external``).
    weight : int
        Each source's ``COPIES`` times this: the writers weigh more against MNIST's many digits.

    Returns
    -------
    train, val : (ndarray, ndarray)
        Digits of every source (0-9), marks that are not digits (``NOT_DIGIT``) and pieces of several
        digits (``SEVERAL``).
    info : dict
        Counts per source, and ``val_parts``: each source's ``[start, end)`` in ``val``.
    """
    from handwritten_digits.data.negatives import negative_inputs
    from handwritten_digits.data.writers import SOURCES, load_writers

    trains, info = [train], {"train": {"mnist": len(train[1])}}
    for source in SOURCES:
        tr = _first(load_writers(source, "train", external_dir, seed=0, copies=weight * COPIES.get(source, 1)), limit)
        trains.append(tr)
        info["train"][source] = len(tr[1])
    negatives = int(sum(len(t[1]) for t in trains) * NEGATIVE_SHARE / (1 - NEGATIVE_SHARE))
    trains.append(_marks(negative_inputs(negatives, seed=seed, digits=train[0][train[1] != 1])))
    info["train"]["not a digit"] = negatives
    val, info["val_parts"] = validation_mixture(val, seed, limit, external_dir)
    return _join(trains), val, info


def with_writers(train, limit: int | None = None, external_dir=None, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """MNIST's ``train`` digits and each extra source's ``split`` writers, one drawing or bitmap a digit
    (``limit``: at most this many of each source, pendigits' drawn from as many digits of each writer)."""
    from handwritten_digits.data.writers import SOURCES, load_writers

    return _join([train] + [_first(load_writers(source, split, external_dir, seed=0,
                                                limit=limit if source == "pendigits" else None), limit)
                            for source in SOURCES])


def validation_mixture(val, seed: int = 0, limit: int | None = None, external_dir=None):
    """MNIST's validation digits, each extra source's validation writers and marks made from
    validation digits: ``(images, labels)`` and each source's ``[start, end)`` in them.

    What a model (or an ensemble of models) is calibrated and its "not a digit" threshold chosen on.
    """
    from handwritten_digits.data.negatives import negative_inputs
    from handwritten_digits.data.writers import SOURCES, load_writers

    vals, parts = [val], {"mnist": [0, len(val[1])]}
    for source in SOURCES:
        _append(vals, _first(load_writers(source, "val", external_dir, seed=0), limit), source, parts)
    count = int(sum(len(v[1]) for v in vals) * NEGATIVE_SHARE / (1 - NEGATIVE_SHARE))
    # marks from validation digits and another seed than training's: no training mark is scored
    marks = _marks(negative_inputs(count, seed=seed + 7919, digits=val[0][val[1] != 1]))
    several = marks[1] == SEVERAL
    _append(vals, (marks[0][~several], marks[1][~several]), "not a digit", parts)
    _append(vals, (marks[0][several], marks[1][several]), "several digits", parts)
    return _join(vals), parts


def _first(data, limit):
    return data if limit is None else (data[0][:limit], data[1][:limit])


def _marks(inputs) -> tuple[np.ndarray, np.ndarray]:
    """Negatives labelled: several digits (pairs, columns) or not a digit (the rest)."""
    from handwritten_digits.data.negatives import several_digits

    images, kinds = inputs
    return images, np.where(several_digits(kinds), SEVERAL, NOT_DIGIT).astype(np.int64)


def _append(vals: list, part, name: str, parts: dict) -> None:
    start = sum(len(v[1]) for v in vals)
    vals.append(part)
    parts[name] = [start, start + len(part[1])]


def _join(parts) -> tuple[np.ndarray, np.ndarray]:
    return (np.concatenate([p[0] for p in parts]).astype(np.float32),
            np.concatenate([p[1] for p in parts]).astype(np.int64))


# digits of a validation source that the threshold may reject: under the targets (MNIST test 0.5%,
# other writers 1%) with room to spare, since the test sets are other writers still
REJECT_BUDGET = {"mnist": 0.003}
OTHER_BUDGET = 0.006
LOWEST_THRESHOLD = 0.1  # never reject a mark the model thinks 90% likely a digit
MARKS_REJECTED = 0.97  # past the budgets, rise while this share of validation marks stays rejected (target 95%)


def not_digit_threshold(probs: np.ndarray, labels: np.ndarray, parts: dict) -> tuple[float, dict]:
    """The "not a digit" probability from which a mark is rejected, chosen on validation.

    At least the lowest threshold that rejects no more than each digit source's budget
    (``REJECT_BUDGET``, else ``OTHER_BUDGET``) of its digits; above that, the highest that still
    rejects ``MARKS_REJECTED`` of the validation marks: where marks are rejected either way, every
    digit kept counts (the trade-off is flat there, and other writers' digits sit near it).

    Parameters
    ----------
    probs : ndarray (N, classes)
        Calibrated validation probabilities, "not a digit" in column ``NOT_DIGIT``.
    labels : ndarray (N,)
    parts : dict
        Each source's ``[start, end)`` in the validation set (``"not a digit"`` holds the marks).

    Returns
    -------
    threshold : float
    shares : dict
        Per source, the share rejected at that threshold (of digits; of marks for ``"not a digit"``).
    """
    p_not = probs[:, NOT_DIGIT]
    cuts = [LOWEST_THRESHOLD]
    for source, (a, b) in parts.items():
        if source not in ("not a digit", "several digits") and b > a:
            # just above the score of the digit at the budget's edge: that digit and all above it are rejected
            cuts.append(float(np.quantile(p_not[a:b], 1 - REJECT_BUDGET.get(source, OTHER_BUDGET), method="higher")) + 1e-6)
    threshold = min(max(cuts), 1.0)
    if "not a digit" in parts:
        a, b = parts["not a digit"]
        threshold = max(threshold, min(float(np.quantile(p_not[a:b], 1 - MARKS_REJECTED, method="lower")), 0.99))
    shares = {source: float((p_not[a:b] >= threshold).mean()) for source, (a, b) in parts.items() if b > a}
    return threshold, shares


def calibrate(recognizer, val, seed: int = 0) -> dict:
    """Fit a model's temperature and, with a "not a digit" class, its threshold, on validation.

    ``recognizer``: a :class:`~handwritten_digits.runtime.Recognizer` (its card's temperature is not
    used); ``val``: MNIST's validation digits. An open-set model is calibrated on the validation
    mixture (:func:`validation_mixture`), a digits-only one on ``val`` alone.

    Returns
    -------
    dict
        Card fields: ``temperature``, ``metrics`` (validation accuracy, and the shares rejected per
        source), ``not_digit_threshold`` (open set only).
    """
    images, labels = val
    parts = None
    if recognizer.open_set:
        (images, labels), parts = validation_mixture(val, seed)
    logits = recognizer.logits(images)
    temperature, threshold, shares = fit_on_validation(logits, labels, parts)
    fields = {"temperature": temperature}
    fields["metrics"] = {"val": {"accuracy": float((logits.argmax(1) == labels).mean()), "n": len(labels)}}
    if parts:
        fields["not_digit_threshold"], fields["metrics"]["val_rejected"] = threshold, shares
    return fields


def fit_on_validation(logits: np.ndarray, labels: np.ndarray, parts: dict | None = None):
    """The temperature for validation ``logits`` and, given the validation mixture's ``parts``, the
    "not a digit" threshold on the calibrated probabilities and the shares it rejects per source
    (:func:`not_digit_threshold`); ``(temperature, None, None)`` without parts.

    What training (:mod:`handwritten_digits.training.loop`) and :func:`calibrate` both choose.
    """
    from handwritten_digits.evaluation.calibration import fit_temperature
    from handwritten_digits.runtime import softmax

    temperature = fit_temperature(logits, labels)
    if not parts:
        return temperature, None, None
    threshold, shares = not_digit_threshold(softmax(np.asarray(logits) / temperature), labels, parts)
    return temperature, threshold, shares
