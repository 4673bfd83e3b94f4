"""The one result type every interface returns: CLI ``--json``, the REST API and the page."""

from __future__ import annotations

from dataclasses import dataclass, field

REJECTED = "?"  # stands in the text for a digit below --min-confidence


@dataclass
class DigitResult:
    digit: int
    confidence: float
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in input pixels, x1/y1 exclusive
    probabilities: list[float]
    rejected: bool = False
    image: object = field(default=None, repr=False, compare=False)  # the 28x28 input the model saw

    @property
    def char(self) -> str:
        return REJECTED if self.rejected else str(self.digit)


@dataclass
class ReadResult:
    digits: list[DigitResult] = field(default_factory=list)
    limits: list[str] = field(default_factory=list)  # caps on work reached ("pieces", "reads", "size", "time"): a partial reading

    @property
    def text(self) -> str:
        return "".join(d.char for d in self.digits)

    def to_dict(self) -> dict:
        return {"text": self.text, "digits": [_digit_dict(d) for d in self.digits], "limits": list(self.limits)}


def _digit_dict(d: DigitResult) -> dict:
    return {
        "digit": int(d.digit),
        "confidence": round(float(d.confidence), 6),
        "box": [int(v) for v in d.box],
        "probabilities": [round(float(p), 6) for p in d.probabilities],
        "rejected": bool(d.rejected),
    }
