"""The model stage: one inference path for every model, ONNX Runtime, no torch, no scikit-learn.

>>> from handwritten_digits.runtime import Recognizer
>>> rec = Recognizer.load()             # the bundled model
>>> rec.predict_proba(images)           # (N, 28, 28) inputs in [0, 1] -> (N, 10) probabilities
>>> rec.not_digit(images)               # (N,) True where a mark is not a digit (models with that class)

Reading whole images (finding the digits first) is :class:`handwritten_digits.reading.reader.Reader`'s job.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from handwritten_digits import modelcard
from handwritten_digits.errors import DigitsError
from handwritten_digits.reading.normalize import deskew


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _session(path: Path, threads: int | None):
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors
        raise DigitsError(f"{path}: not a loadable ONNX model ({str(exc).splitlines()[0]})") from None


class Recognizer:
    """A loaded model with its card. Thread-safe: ONNX Runtime sessions may be shared.

    Parameters
    ----------
    session : onnxruntime.InferenceSession
    card : dict
        The model card (see :mod:`handwritten_digits.modelcard`).
    path : Path
        Where the ``.onnx`` file was loaded from.
    checker : onnxruntime.InferenceSession, optional
        The segmentation checker (is a crop one whole digit?) that guides reading numbers.
    """

    def __init__(self, session, card: dict, path: Path, checker=None):
        self.session = session
        self.checker = checker
        self.card = card
        self.path = path
        self._input = session.get_inputs()[0].name
        outputs = [o.name for o in session.get_outputs()]
        self._output = card.get("output", "logits")
        if self._output not in outputs:
            raise DigitsError(f"{path}: model has no '{self._output}' output (has {', '.join(outputs)})")
        # what the output holds: logits, probabilities, or scores (treated as logits)
        self._output_kind = card.get("output_kind", "probabilities" if self._output == "probabilities" else "logits")
        self._shape = tuple(card["input"]["shape"])
        self._deskew = bool(card["input"].get("deskew", False))
        self.temperature = float(card.get("temperature", 1.0))
        # classes after the digits ("not a digit", "several digits"): marks from the threshold up are
        # rejected (chosen on validation, see the card)
        self.open_set = len(card.get("classes", range(10))) > 10
        self.not_digit_threshold = float(card.get("not_digit_threshold", 0.5))

    @classmethod
    def load(cls, model: str | Path | None = None, threads: int | None = None, checker: str | Path | None | bool = None) -> "Recognizer":
        """Load a bundled model by name (``default``, ``accurate``), a ``.onnx`` file or a folder.

        ``checker``: the segmentation checker's ``.onnx`` (default: the bundled one, if installed;
        ``False``: none, pieces are judged by digit confidence alone).
        """
        path = modelcard.resolve(model)
        card = modelcard.read_card(path)
        if card.get("kind") == "checker":
            raise DigitsError(f"{path}: a segmentation checker, not a digit model (give it as the checker)")
        if checker is None:
            checker = modelcard.CHECKER if modelcard.CHECKER.exists() else False
        checker_session = _session(Path(checker), threads) if checker is not False else None
        return cls(_session(path, threads), card, path, checker_session)

    @property
    def name(self) -> str:
        return self.card.get("name", self.path.stem)

    def logits(self, images: np.ndarray) -> np.ndarray:
        """Log-probabilities up to a constant, before calibration, for (N, 28, 28) images in [0, 1]."""
        x = np.asarray(images, dtype=np.float32)
        if x.ndim == 2:
            x = x[None]
        if x.shape[1:] != (28, 28):
            raise DigitsError(f"expected images of shape (N, 28, 28), got {x.shape}")
        if self._deskew:
            x = np.stack([deskew(im) for im in x])
        x = np.ascontiguousarray(x.reshape((len(x), *self._shape)))
        out = self.session.run([self._output], {self._input: x})[0]
        if self._output_kind == "probabilities":
            out = np.log(np.clip(out, 1e-12, 1.0))
        return out.astype(np.float32)

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """Calibrated probabilities of every class the model has: (N, 10), or with "not a digit" (column 10) and "several digits" after the digits."""
        return softmax(self.logits(images) / self.temperature)

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        """Calibrated digit probabilities, shape (N, 10); with a "not a digit" class they sum to 1 minus its share."""
        return self.probabilities(images)[:, :10]

    def not_digit(self, images: np.ndarray | None = None, probs: np.ndarray | None = None) -> np.ndarray:
        """(N,) True where a mark is not a digit: its "not a digit" probability reaches the card's threshold.

        ``probs``: the marks' :meth:`probabilities` when already computed. Always False for a model
        without that class.
        """
        probs = self.probabilities(images) if probs is None else np.asarray(probs)
        if probs.shape[1] <= 10:
            return np.zeros(len(probs), dtype=bool)
        return probs[:, 10] >= self.not_digit_threshold

    def predict(self, images: np.ndarray) -> np.ndarray:
        return self.predict_proba(images).argmax(axis=1)

    def piece_scores(self, images: np.ndarray, probs: np.ndarray | None = None, among_digits: bool = False) -> np.ndarray:
        """How surely each crop is one whole digit, read right: digit confidence x the checker's "whole".

        ``probs``: the crops' :meth:`probabilities` when already computed. Without a checker, the
        digit probabilities (N, 10); the segmenter then takes their maximum. ``among_digits``: a crop
        the model reads as a digit ("not a digit" under its threshold) is weighed among the digits and
        "several digits", as the segmenter weighs a piece it may cut: its "not a digit" share says how
        unusual its shape is, not how many digits it holds (a 7 with a long serif, 0.93 of it, was cut
        into "1" and "7").
        """
        probs = self.probabilities(images) if probs is None else np.asarray(probs)
        if among_digits and self.open_set:
            read = (probs[:, 10] < self.not_digit_threshold)[:, None]
            probs = np.where(read, probs / np.maximum(1.0 - probs[:, 10:11], 1e-6), probs)
        probs = probs[:, :10]
        if self.checker is None:
            return probs
        return probs.max(axis=1) * self.whole_probability(images)

    def whole_probability(self, images: np.ndarray) -> np.ndarray:
        """The segmentation checker's probability that each crop is exactly one whole digit."""
        x = np.ascontiguousarray(np.asarray(images, dtype=np.float32).reshape(-1, 1, 28, 28))
        return softmax(self.checker.run(None, {self.checker.get_inputs()[0].name: x})[0])[:, 1]


def in_batches(fn, images: np.ndarray, batch: int = 1000, desc: str | None = None) -> np.ndarray:
    """``fn`` (a recognizer's ``predict``, ``predict_proba`` or ``logits``) over ``images``, ``batch`` at a time.

    Bounds memory on large sets (a k-NN graph holds a batch x training-images distance matrix);
    ``desc``: show a progress bar with this label (on stderr).
    """
    starts = range(0, len(images), batch)
    if desc is not None:
        import sys

        from tqdm import tqdm

        starts = tqdm(starts, desc=desc, file=sys.stderr, leave=False)
    return np.concatenate([fn(images[i : i + batch]) for i in starts])
