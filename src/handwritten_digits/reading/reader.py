"""The reader: composes the stages (decode -> ink -> segment -> normalize) with a model into a result.

>>> from handwritten_digits.reading.reader import Reader
>>> reader = Reader.load()                 # the bundled model
>>> reader.read("number.png").text         # every digit in the image, left to right
>>> reader.classify("digit.png").digit     # the whole image as one digit

Only the interfaces (CLI, server, batch reading) import this module. Work per image is bounded
(:class:`Limits`): past a cap the reader answers with what it has, and ``ReadResult.limits`` says
which cap was reached.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from handwritten_digits.reading import decode, ink, segment
from handwritten_digits.reading.normalize import piece_input
from handwritten_digits.results import DigitResult, ReadResult
from handwritten_digits.runtime import Recognizer


@dataclass(frozen=True)
class Limits:
    """Caps on one reading's work. ``seconds``: after this long no more cuts of touching digits are
    searched (the pieces found so far are read as they are). The other caps are the segment stage's
    (``MAX_PIECES``, ``MAX_READS``, ``cuts.MAX_AREA``)."""

    seconds: float = 1.0


@dataclass(frozen=True)
class ReaderSpec:
    """A small, picklable recipe for a :class:`Reader`: send it to worker processes, build it there.

    ``spec.reader()`` loads the model once per process and returns the same reader after that.
    """

    model: str = "default"
    threads: int | None = 1
    checker: str | None = None  # None: the bundled checker

    def reader(self) -> "Reader":
        key = (self.model, self.threads, self.checker)
        if key not in _LOADED:
            _LOADED[key] = Reader.load(self.model, threads=self.threads, checker=self.checker)
        return _LOADED[key]


_LOADED: dict[tuple, "Reader"] = {}  # one reader per spec in each process


class Reader:
    """Reads digits and numbers from images with a :class:`~handwritten_digits.runtime.Recognizer`.

    Thread-safe: it holds no state between readings.
    """

    def __init__(self, recognizer: Recognizer, limits: Limits = Limits()):
        self.recognizer = recognizer
        self.limits = limits

    @classmethod
    def load(cls, model: str | None = None, threads: int | None = None, checker=None, limits: Limits = Limits()) -> "Reader":
        """A reader on a bundled model name, ``.onnx`` file or folder (see :meth:`Recognizer.load`)."""
        return cls(Recognizer.load(model, threads=threads, checker=checker), limits)

    @property
    def name(self) -> str:
        return self.recognizer.name

    def read(self, image, min_confidence: float | None = None, single: bool = False) -> ReadResult:
        """Find the digits in ``image`` (path, bytes, PIL image, array or decoded image) and read them.

        Parameters
        ----------
        min_confidence : float, optional
            Digits read less surely than this are marked rejected (``?`` in the text).
        single : bool
            The whole image is one digit (no segmentation).
        """
        start = time.monotonic()
        inkmap = ink.find_ink(decode.decode(image, max_side=ink.WORK_SIDE))
        if single:
            piece, box = segment.whole(inkmap)
            found = segment.Segmentation([piece] if piece else [], [box] if piece else [])
        else:
            found = segment.segment(inkmap, score=self._score, deadline=start + self.limits.seconds)
        pieces = [(p, box) for p, box in zip(found.pieces, found.boxes) if piece_input(p) is not None]
        self._probabilities([p for p, _ in pieces])
        digits = []
        for p, box in pieces:
            probs = np.asarray(p.memo["probs"], dtype=np.float64)
            k = int(probs.argmax())
            rejected = min_confidence is not None and float(probs[k]) < min_confidence
            digits.append(DigitResult(k, float(probs[k]), box, probs.tolist(), rejected, p.memo["input"]))
        return ReadResult(digits, limits=list(found.limits))

    def classify(self, image, min_confidence: float | None = None) -> DigitResult | None:
        """Treat the whole image as one digit; ``None`` if it holds no ink."""
        result = self.read(image, min_confidence, single=True)
        return result.digits[0] if result.digits else None

    # ---------------------------------------------------------------- the later stages, once per piece

    def _probabilities(self, pieces) -> None:
        """Class probabilities of every piece not yet read, in one batch."""
        todo = [p for p in pieces if "probs" not in p.memo]
        if todo:
            inputs = np.stack([piece_input(p, blank=True) for p in todo])
            for p, probs in zip(todo, self.recognizer.predict_proba(inputs)):
                p.memo["probs"] = probs

    def _score(self, pieces) -> np.ndarray:
        """How surely each piece is one whole digit, read right (the segmenter's guide)."""
        self._probabilities(pieces)
        inputs = np.stack([piece_input(p, blank=True) for p in pieces])
        scores = self.recognizer.piece_scores(inputs, np.stack([p.memo["probs"] for p in pieces]))
        return scores.max(axis=1) if scores.ndim == 2 else scores  # no checker: digit confidence alone

