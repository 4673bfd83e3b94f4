"""The reader: composes the stages (decode -> ink -> layout -> segment -> normalize) with a model into a result.

>>> from handwritten_digits.reading.reader import Reader
>>> reader = Reader.load()                 # the bundled model
>>> reader.read("page.jpg").text           # its lines top to bottom, numbers left to right: '12 345\n67'
>>> reader.read("page.jpg").lines[0].numbers[1].digits[0].confidence
>>> reader.classify("digit.png").digit     # the whole image as one digit
>>> reader.read("scribble.png").marks      # ink the model judges not to be digits, kept out of the text

Only the interfaces (CLI, server, batch reading) import this module. Work per image is bounded
(:class:`Limits`): past a cap the reader answers with what it has, and ``ReadResult.limits`` says
which cap was reached.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from handwritten_digits.reading import cuts, decode, ink, layout, paper, segment
from handwritten_digits.reading.normalize import piece_input
from handwritten_digits.reading.pieces import short_prior
from handwritten_digits.results import DigitResult, LineResult, MarkResult, NumberResult, ReadResult, union
from handwritten_digits.runtime import Recognizer

MAX_LINES = 64  # lines read in one image at most (the first, top to bottom): bounds a page's work
COLUMN_PIECES = 8  # stacked lines of this many ink pieces at most are also read as one number ...
COLUMN_LINE_PIECES = 2  # ... each line of at most this many (a digit, or a digit's fragment, in one or two strokes)
UNCUT_BELOW = 0.99  # a cut stroke is made whole again as a mark only when one of its parts reads less surely than this
IN_NUMBER = 0.99  # a piece written in a number, beside its digits and as tall, is a mark only this surely ...
IN_NUMBER_HEIGHT = 0.6  # ... "as tall": this share of the line's median piece height (not a dash or a dot)
FRAGMENT_SCORE = 0.1  # a piece less tall, beside tall digits of its number, scoring under this as one digit is a fragment
SURE = 0.5  # a reading of no more digits this sure than marks may have taken the paper for the ink ...
MANY, MANY_MORE = 2, 3  # ... as may one of a few, where the other polarity reads this many times as many and this many more


@dataclass(frozen=True)
class Limits:
    """Caps on one reading's work, counted in work and not time (a reading does not depend on the machine
    or its load). ``cut_reads``: crops the model reads in searches for cuts of touching digits, all lines
    together (once spent, the pieces left are read as they are); ``join_reads``: crops of neighbouring
    pieces read together to weigh them as one digit (a broken stroke), all lines together (once spent,
    each piece is read alone; the densest real page reads 35). The other caps are ``MAX_LINES`` lines
    read per image and, on each line, the segment stage's (``MAX_PIECES``, ``MAX_READS``, ``cuts.MAX_AREA``)."""

    cut_reads: int = 1024
    join_reads: int = 256


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
        gray = decode.decode(image, max_side=ink.WORK_SIDE)
        inkmap = ink.find_ink(gray)
        if single:
            piece, box = segment.whole(inkmap)
            found = segment.Segmentation([piece] if piece else [], [box] if piece else [])
            digits, marks = _apart(self._digits(_readable(found), min_confidence))
            return ReadResult.one_number(digits, marks=marks)
        budget = segment.Budget(self.limits.cut_reads, self.limits.join_reads)  # shared by every pass over this image
        result = self._page(inkmap, min_confidence, budget)
        if inkmap.guessed and inkmap.dark != ink.dark_on_a_finer_scale(gray):
            result = self._either_polarity(result, gray, inkmap, min_confidence, budget)
        return result

    def _either_polarity(self, result: ReadResult, gray, inkmap: ink.InkMap, min_confidence, budget) -> ReadResult:
        """``result``, or the reading of the other polarity where ink and paper were a close call (a light
        sheet on a dark desk taken for light ink on dark paper): kept where it reads more sure digits than
        a reading of no more sure digits than marks (none: a sheet read as one stroke, or its edges), or
        many more than a reading of a few (the whole sheet read as one digit)."""
        sure = _sure(result)
        poor = sure <= len(result.marks)
        flipped = ink.find_ink(gray, dark=not inkmap.dark)
        if not poor and _digit_sized(flipped) < sure + MANY_MORE:
            return result  # too few pieces the other way to read many more digits: not read
        other = self._page(flipped, min_confidence, budget)
        more = _sure(other)
        return other if more > sure and (poor or more >= max(MANY * sure, sure + MANY_MORE)) else result

    def classify(self, image, min_confidence: float | None = None) -> DigitResult | None:
        """Treat the whole image as one digit; ``None`` if it holds no ink, or ink that is not a digit
        (``read(image, single=True).marks`` then holds it)."""
        result = self.read(image, min_confidence, single=True)
        return result.digits[0] if result.digits else None

    def _page(self, inkmap: ink.InkMap, min_confidence: float | None, budget: segment.Budget) -> ReadResult:
        """The page in ``inkmap`` read line by line, its cut searches taking their reads from ``budget``."""
        page = layout.layout(inkmap)
        limits = ["lines"] if len(page.lines) > MAX_LINES else []
        lines, pieces, marks = [], [], []
        for line in page.lines[:MAX_LINES]:
            part = layout.restrict(page.inkmap, line.labels)
            found = segment.segment(part, score=self._score, budget=budget, min_side=segment.MIN_SIDE_PX, turn=page.turn,
                                    whole_score=self._whole_score)
            limits += [cap for cap in found.limits if cap not in limits]
            kept, uncut = self._uncut_marks(_readable(found), part)
            pieces += [p for p, _ in kept]
            numbers, not_digits = self._numbers(line, part.labels, kept, min_confidence)
            marks += uncut + not_digits
            if numbers:
                lines.append(LineResult(numbers, union(n.box for n in numbers)))
        if _one_column(page):
            # a few pieces stacked: a digit broken across, or a column of digits; read both ways
            found = segment.segment(page.inkmap, score=self._score, budget=budget, whole_score=self._whole_score)
            kept, uncut = self._uncut_marks(_readable(found), page.inkmap)
            if kept and self._surety([p for p, _ in kept]) > self._surety(pieces):
                digits, not_digits = _apart(self._digits(kept, min_confidence))
                limits += [cap for cap in found.limits if cap not in limits]  # both readings' caps: either may be partial
                return ReadResult.one_number(digits, limits, uncut + not_digits)
        return ReadResult(lines, limits, marks)

    # ---------------------------------------------------------------- the later stages, once per piece

    def _numbers(self, line: layout.Line, labels: np.ndarray, kept, min_confidence) -> tuple[list[NumberResult], list[MarkResult]]:
        """The line's pieces ``kept`` (:func:`_readable`), read, in the layout's numbers: each digit goes
        to the number that holds most of its ink (``labels``: the line's component map; the line is
        segmented whole, so a digit's parts stay together). Marks that are not digits come apart."""
        if not kept:
            return [], []
        sizes = [len(r.labels) for r in line.numbers]
        owner = np.repeat(np.arange(len(sizes)), sizes)  # the line's component k + 1 -> its number
        which = []
        for p, _ in kept:
            own = labels[p.ys, p.xs]
            own = own[own > 0]
            which.append(int(np.bincount(owner[own - 1], minlength=len(sizes)).argmax()) if len(own) else 0)
        # a piece beside digits of its number, as tall as they are, is far more likely a digit than a mark
        # (a 1 with a long flag, a 6 touching the 5 before it): only a surer "not a digit" makes it one
        self._probabilities([p for p, _ in kept])
        heights = np.array([p.height for p, _ in kept], float)
        tall = heights >= IN_NUMBER_HEIGHT * float(np.median(heights))
        digit = ~self.recognizer.not_digit(probs=np.array([p.memo["probs"] for p, _ in kept]))
        count = np.bincount(np.asarray(which, int)[tall & digit], minlength=len(sizes))
        inside = [bool(t and count[k] - d >= 1) for t, d, k in zip(tall, digit, which)]
        digits = self._digits(kept, min_confidence, inside)
        # a short piece beside tall digits of its number that the checker judges no whole digit is a
        # fragment (a tick broken off a 1 or a 9), not a digit of its own: read alone it is some "1"
        short = [k for k, (t, n) in enumerate(zip(tall, which)) if not t and count[n] >= 1 and isinstance(digits[k], DigitResult)]
        if short:
            line = segment.line_height([p for p, _ in kept])
            for k, score in zip(short, self._score([kept[k][0] for k in short])):
                score *= np.exp(short_prior(kept[k][0], line))  # as the segmenter weighs it: the shorter, the less a digit
                if score < FRAGMENT_SCORE:
                    digits[k] = MarkResult(kept[k][1], 1.0 - float(score), kept[k][0].memo["input"])
        numbers = []
        for r in range(len(sizes)):
            mine = [d for d, k in zip(digits, which) if k == r and isinstance(d, DigitResult)]
            if mine:
                numbers.append(NumberResult(mine, union(d.box for d in mine)))
        return numbers, [m for m in digits if isinstance(m, MarkResult)]

    def _uncut_marks(self, kept, inkmap) -> tuple[list, list[MarkResult]]:
        """Pieces cut from one stroke whose whole is a mark that is not a digit, made whole again as that mark.

        The segmenter cuts wide ink where its parts read best as digits, and a letter or a check mark
        cut into strokes reads as "1"s. Where the model judges the uncut ink not a digit (touching
        digits it judges "several digits") and one part reads less surely than ``UNCUT_BELOW``, the
        cut is undone: the whole is a mark where it is all the line holds; beside other pieces it is a
        piece again where it is judged so less surely than ``IN_NUMBER`` (written in a number,
        :meth:`_numbers` reads it as a digit, a 1 with a long flag), and stays cut where surer or wider
        than a digit may be (``cuts.MAX_PART`` line heights: digits touching in a number, "several
        digits"). Returns the pieces kept and the marks.
        """
        if not self.recognizer.open_set or len(kept) < 2:
            return kept, []
        groups: dict[int, list[int]] = {}  # a component -> the pieces holding its ink
        for k, (p, _) in enumerate(kept):
            for label in np.unique(inkmap.labels[p.ys, p.xs]):
                groups.setdefault(int(label), []).append(k)
        cut = sorted({tuple(g) for g in groups.values() if len(g) > 1})
        if not cut:
            return kept, []
        wholes = []
        for members in cut:
            whole = kept[members[0]][0]
            for k in members[1:]:
                whole = whole.merge(kept[k][0])
            wholes.append(whole)
        readable = [w for w in wholes if piece_input(w) is not None]
        self._probabilities(readable + [p for p, _ in kept])
        dropped, marks, uncut = set(), [], []
        line = segment.line_height([p for p, _ in kept])
        for members, whole in zip(cut, wholes):
            probs = whole.memo.get("probs")
            least = min(float(np.max(kept[k][0].memo["probs"][:10])) for k in members)
            if (probs is None or least >= UNCUT_BELOW or not self.recognizer.not_digit(probs=np.asarray(probs)[None])[0]
                    or dropped & set(members)):
                continue
            box = union(kept[k][1] for k in members)
            if len(kept) == len(members):
                marks.append(MarkResult(box, float(probs[10]), whole.memo["input"]))
            elif float(probs[10]) < IN_NUMBER and whole.width <= cuts.MAX_PART * line:
                uncut.append((whole, box))  # maybe written in a number, where it is a mark only surer (_numbers)
            else:
                continue  # beside other pieces, surely not one digit or wider than any: digits touching, cut
            dropped |= set(members)
        out = [pb for k, pb in enumerate(kept) if k not in dropped] + uncut
        return sorted(out, key=lambda pb: (pb[0].box[0] + pb[0].box[2]) / 2), marks

    def _digits(self, pieces, min_confidence, inside=None) -> list[DigitResult | MarkResult]:
        """Read ``pieces`` = [(piece, input box)], each with a model input, in one batch: a digit, or a
        mark when the model judges the piece not to be a digit (``inside``: for each piece, whether it
        is written in a number, where only ``IN_NUMBER`` makes it a mark)."""
        self._probabilities([p for p, _ in pieces])
        out = []
        for (p, box), within in zip(pieces, inside or [False] * len(pieces)):
            probs = np.asarray(p.memo["probs"], dtype=np.float64)
            if self.recognizer.not_digit(probs=probs[None])[0] and not (within and probs[10] < IN_NUMBER):
                out.append(MarkResult(box, float(probs[10]), p.memo["input"]))
                continue
            digit = probs[:10]
            k = int(digit.argmax())
            rejected = min_confidence is not None and float(digit[k]) < min_confidence
            out.append(DigitResult(k, float(digit[k]), box, digit.tolist(), rejected, p.memo["input"]))
        return out

    def _probabilities(self, pieces) -> None:
        """Class probabilities (digits, then "not a digit" where the model has it) of every piece not yet read, in one batch."""
        todo = [p for p in pieces if "probs" not in p.memo]
        if todo:
            inputs = np.stack([piece_input(p, blank=True) for p in todo])
            for p, probs in zip(todo, self.recognizer.probabilities(inputs)):
                p.memo["probs"] = probs

    def _surety(self, pieces) -> float:
        """How surely a reading's pieces are each one whole digit, read right: their geometric mean score."""
        return float(np.mean(np.log(np.maximum(self._score(pieces), 1e-6)))) if pieces else -np.inf

    def _whole_score(self, pieces) -> np.ndarray:
        """How surely each piece a cut search may split is one digit, however unusual (see ``_score``)."""
        return self._score(pieces, among_digits=True)

    def _score(self, pieces, among_digits: bool = False) -> np.ndarray:
        """How surely each piece is one whole digit, read right (the segmenter's guide); ``among_digits``:
        a piece read as a digit is weighed among the digits (the uncut piece a cut search weighs)."""
        self._probabilities(pieces)
        inputs = np.stack([piece_input(p, blank=True) for p in pieces])
        scores = self.recognizer.piece_scores(inputs, np.stack([p.memo["probs"] for p in pieces]), among_digits)
        return scores.max(axis=1) if scores.ndim == 2 else scores  # no checker: digit confidence alone


def _apart(read: list[DigitResult | MarkResult]) -> tuple[list[DigitResult], list[MarkResult]]:
    """Digits and marks that are not digits, each in the order read."""
    return [d for d in read if isinstance(d, DigitResult)], [m for m in read if isinstance(m, MarkResult)]


def _digit_sized(inkmap: ink.InkMap) -> int:
    """How many of the ink's components are about as tall as its typical digit (half to ``paper.TALLEST`` times)."""
    if inkmap.count == 0:
        return 0
    heights, typical = inkmap.stats[1:, 3], paper.typical_height(inkmap.stats[1:])
    return int(np.count_nonzero((heights >= typical / 2) & (heights <= paper.TALLEST * typical)))


def _sure(result: ReadResult) -> int:
    """How many digits ``result`` reads at least ``SURE``."""
    return sum(d.confidence >= SURE for d in result.digits)


def _readable(found: segment.Segmentation) -> list[tuple]:
    """The pieces found that make a model input (a blank crop makes none), each with its input box."""
    return [(p, box) for p, box in zip(found.pieces, found.boxes) if piece_input(p) is not None]


def _one_column(page: layout.Layout) -> bool:
    """Several lines of a few pieces in all, each under the one before: a digit broken across lines
    (its bar, its bowl) reads as fragments, a column of digits as one tall piece; which, the
    readings tell."""
    lines = page.lines
    if not 2 <= len(lines) <= COLUMN_PIECES or sum(len(ln.labels) for ln in lines) > COLUMN_PIECES:
        return False
    if any(len(ln.numbers) > 1 or len(ln.labels) > COLUMN_LINE_PIECES for ln in lines):
        return False  # a line of several numbers, or of a number's digits side by side, is no part of a column
    return all(layout.stacked(a.box, b.box) for a, b in zip(lines, lines[1:]))
