"""Typed response bodies: what ``/docs`` documents and what every route returns.

``RecognizeResponse`` is :meth:`handwritten_digits.results.ReadResult.to_dict` (the JSON of
``digits predict --json``: page -> lines -> numbers -> digits), plus the optional 28x28 inputs the page shows. The request bodies and
error responses the routes document (``IMAGE_BODY``, ``FEEDBACK_BODY``, ``ERRORS``) are here too:
what the spec promises must be what the server takes (``tests/test_schemathesis.py`` checks it).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


BOX = "x0, y0, x1, y1 in image pixels (x1, y1 exclusive)"


class DigitOut(BaseModel):
    digit: int = Field(ge=0, le=9, description="the most probable class")
    confidence: float = Field(ge=0, le=1, description="calibrated probability of `digit`")
    box: list[int] = Field(min_length=4, max_length=4, description=BOX)
    probabilities: list[float] = Field(min_length=10, max_length=10, description="calibrated probability of each class 0-9")
    rejected: bool = Field(description="true when confidence < min_confidence; the text shows '?'")
    input: str | None = Field(
        default=None, description="what the model sees: the 28x28 input as a PNG data URL (only with include_inputs=true)"
    )


class NumberOut(BaseModel):
    text: str = Field(description="its digits left to right, '?' for rejected ones")
    box: list[int] = Field(min_length=4, max_length=4, description=BOX)
    confidence: float = Field(ge=0, le=1, description="the chance every digit is read right: the product of theirs")
    digits: list[int] = Field(description="its digits, as indices into the response's `digits`")


class LineOut(BaseModel):
    text: str = Field(description="its numbers left to right, joined by one space")
    box: list[int] = Field(min_length=4, max_length=4, description=BOX)
    confidence: float = Field(ge=0, le=1, description="the product of its numbers' confidences")
    numbers: list[NumberOut]


class MarkOut(BaseModel):
    box: list[int] = Field(min_length=4, max_length=4, description=BOX)
    confidence: float = Field(ge=0, le=1, description="calibrated probability that this mark is not a digit")
    input: str | None = Field(
        default=None, description="what the model saw: the 28x28 input as a PNG data URL (only with include_inputs=true)"
    )


class RecognizeResponse(BaseModel):
    text: str = Field(description="what the image says: its lines top to bottom joined by a newline, each line's "
                                  "numbers left to right joined by one space, '?' for a rejected digit; an image "
                                  "of one number gives that number alone; empty when no digit was found")
    digits: list[DigitOut] = Field(description="every digit in reading order: line by line, left to right")
    lines: list[LineOut] = Field(description="the reading's structure: lines top to bottom, each with its numbers "
                                             "left to right, each naming its digits")
    marks: list[MarkOut] = Field(default_factory=list, description="ink the model judges not to be a digit (a letter, a "
                                 "scribble, a shadow, part of a digit): never in a number or the text")
    limits: list[str] = Field(
        default_factory=list,
        description="caps on the reading's work that this image reached, so the result may be partial: "
        "'lines' (more lines than are read; the first were read), "
        "'pieces' (more ink pieces on a line than are read; the largest were read), 'reads' (the networks' reads "
        "allowed for joining and cutting pieces, on a line or in the whole image, ran out; pieces left were "
        "read uncut) or 'size' (a piece too large to search for cuts was read whole); empty for a complete "
        "reading",
    )
    width: int = Field(description="width of the decoded image, in pixels")
    height: int = Field(description="height of the decoded image, in pixels")


class ModelCard(BaseModel):
    """The card of the served model (see `digits info`); fields beyond these are passed through."""

    model_config = ConfigDict(extra="allow", protected_namespaces=())
    name: str
    kind: str = "unknown"
    input: dict
    output: str
    temperature: float = 1.0
    architecture: dict = {}
    metrics: dict = {}


class Health(BaseModel):
    status: str = Field(description="'ok' while the process serves requests")


class Ready(BaseModel):
    status: str = Field(description="'ready' once the model is loaded and has answered a warm-up request")
    model: str


class FeedbackOut(BaseModel):
    id: int
    label: int = Field(ge=0, le=9)
    predicted: int | None = None
    total: int = Field(description="corrections stored so far")


class Error(BaseModel):
    detail: str


# ---------------------------------------------------------------- request bodies and errors, as documented

BINARY = {"type": "string", "format": "binary"}
# the multipart image part is an image: schema clients (and schemathesis) send one, not any bytes
IMAGE_PART = {"image": {"contentType": "image/png, image/jpeg"}}

IMAGE_BODY = {
    "required": True,
    "content": {
        "image/png": {"schema": BINARY},
        "image/jpeg": {"schema": BINARY},
        "multipart/form-data": {
            "schema": {"type": "object", "properties": {"image": BINARY}, "required": ["image"],
                       "additionalProperties": False},
            "encoding": IMAGE_PART,
        },
    },
}
DIGIT = {"type": "integer", "minimum": 0, "maximum": 9}
# The page's form. A raw image body with ``?label=`` is still taken (older clients), undocumented:
# OpenAPI cannot say "label in the query or in the form", and a spec must not call a refused request valid.
FEEDBACK_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {"image": BINARY, "label": {**DIGIT, "description": "the right digit"},
                               "predicted": {**DIGIT, "description": "what the model said"}},
                "required": ["image", "label"],
                "additionalProperties": False,
            },
            "encoding": IMAGE_PART,
        },
    },
}
ERRORS = {
    400: {"model": Error, "description": "empty body, malformed multipart or missing `image` field"},
    408: {"model": Error, "description": "the body did not arrive within the server's time limit"},
    413: {"model": Error, "description": "body larger than the server's limit"},
    415: {"model": Error, "description": "body is neither image/* nor multipart/form-data"},
    422: {"model": Error, "description": "not a readable image, image too large, or bad parameter"},
}
