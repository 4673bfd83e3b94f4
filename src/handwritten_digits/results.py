"""The one result type every interface returns: CLI ``--json``, the REST API and the page.

A reading is a hierarchy, in the manner of docTR's Document -> Page -> Line -> Word: a
:class:`ReadResult` holds its :class:`LineResult` s top to bottom, each its :class:`NumberResult` s
left to right, each its :class:`DigitResult` s. Every element has a box (input pixels, x1/y1
exclusive) and a confidence; ``text`` renders numbers joined by one space and lines by a newline, so
an image of one number reads as that number alone. Marks the model judges not to be digits (a letter,
a scribble, a shadow) are kept apart as :class:`MarkResult` s: never in a number, never in the text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

REJECTED = "?"  # stands in the text for a digit below --min-confidence

Box = tuple[int, int, int, int]


@dataclass
class DigitResult:
    digit: int
    confidence: float
    box: Box  # x0, y0, x1, y1 in input pixels, x1/y1 exclusive
    probabilities: list[float]
    rejected: bool = False
    image: object = field(default=None, repr=False, compare=False)  # the 28x28 input the model saw

    @property
    def char(self) -> str:
        return REJECTED if self.rejected else str(self.digit)


@dataclass
class MarkResult:
    """A piece of ink that is not a digit: where it is, and how surely it is not one."""

    box: Box
    confidence: float  # how surely it is no digit: the model's "not a digit" probability (a fragment: 1 - its score as one)
    image: object = field(default=None, repr=False, compare=False)  # the 28x28 input the model saw


@dataclass
class NumberResult:
    """Digits written together, left to right: one number."""

    digits: list[DigitResult]
    box: Box

    @property
    def text(self) -> str:
        return "".join(d.char for d in self.digits)

    @property
    def confidence(self) -> float:
        """The chance every digit is read right: the product of the digits' confidences."""
        return math.prod(d.confidence for d in self.digits)


@dataclass
class LineResult:
    """A line of text: its numbers left to right."""

    numbers: list[NumberResult]
    box: Box

    @property
    def text(self) -> str:
        return " ".join(n.text for n in self.numbers)

    @property
    def confidence(self) -> float:
        return math.prod(n.confidence for n in self.numbers)


@dataclass
class ReadResult:
    lines: list[LineResult] = field(default_factory=list)
    limits: list[str] = field(default_factory=list)  # caps on work reached ("pieces", "reads", "size", "lines"): a partial reading
    marks: list[MarkResult] = field(default_factory=list)  # ink that is not digits, top to bottom

    @classmethod
    def one_number(cls, digits: list[DigitResult], limits: list[str] | None = None,
                   marks: list[MarkResult] | None = None) -> "ReadResult":
        """A reading of one number (a single digit, a whole image read as one)."""
        lines = []
        if digits:
            box = union(d.box for d in digits)
            lines = [LineResult([NumberResult(list(digits), box)], box)]
        return cls(lines, list(limits or []), list(marks or []))

    @property
    def digits(self) -> list[DigitResult]:
        """Every digit in reading order: line by line, left to right."""
        return [d for line in self.lines for n in line.numbers for d in n.digits]

    @property
    def numbers(self) -> list[NumberResult]:
        return [n for line in self.lines for n in line.numbers]

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)

    def to_dict(self) -> dict:
        """The JSON of ``digits predict --json`` and the API: ``digits`` flat (as ever), ``lines`` the
        hierarchy, whose numbers name their digits by index into ``digits``."""
        lines, k = [], 0
        for line in self.lines:
            numbers = []
            for n in line.numbers:
                numbers.append({"text": n.text, "box": _box(n.box), "confidence": _round(n.confidence),
                                "digits": list(range(k, k + len(n.digits)))})
                k += len(n.digits)
            lines.append({"text": line.text, "box": _box(line.box), "confidence": _round(line.confidence), "numbers": numbers})
        marks = [{"box": _box(m.box), "confidence": _round(m.confidence)} for m in self.marks]
        return {"text": self.text, "digits": [_digit_dict(d) for d in self.digits], "lines": lines, "marks": marks,
                "limits": list(self.limits)}


def union(boxes) -> Box:
    """The smallest box holding all ``boxes``."""
    x0, y0, x1, y1 = zip(*boxes)
    return min(x0), min(y0), max(x1), max(y1)


def iou(a, b) -> float:
    """Intersection over union of two boxes (x0, y0, x1, y1, exclusive): how well one box finds another."""
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    joined = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - ix * iy
    return ix * iy / joined if joined > 0 else 0.0


def _box(box) -> list[int]:
    return [int(v) for v in box]


def _round(x: float) -> float:
    return round(float(x), 6)


def _digit_dict(d: DigitResult) -> dict:
    return {
        "digit": int(d.digit),
        "confidence": _round(d.confidence),
        "box": _box(d.box),
        "probabilities": [_round(p) for p in d.probabilities],
        "rejected": bool(d.rejected),
    }
