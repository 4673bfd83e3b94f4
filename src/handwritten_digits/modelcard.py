"""Model files: ``NAME.onnx`` plus a JSON model card ``NAME.json`` beside it.

The card describes the model fully, so inference never guesses: ``input`` (shape the graph
wants, optional ``deskew``), ``output`` (the ONNX output to read) and ``output_kind`` (``logits``,
``probabilities`` or ``scores``; default from the name), ``temperature``
(calibration), ``architecture``, ``training`` config, ``data`` checksums, ``metrics``,
``created`` and ``package_version``.
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path

from handwritten_digits import __version__
from handwritten_digits.errors import DigitsError
from handwritten_digits.fileio import atomic_write_bytes, atomic_write_json

ASSETS = Path(__file__).parent / "assets" / "models"
BUNDLED = {"default": "default", "accurate": "accurate", "default-int8": "default-int8"}
CHECKER = ASSETS / "checker.onnx"  # the segmentation checker every reader uses (not a digit model)


def resolve(model: str | Path | None) -> Path:
    """The ``.onnx`` path for a bundled name (``default``, ``accurate``), a file or a folder."""
    if model is None:
        model = "default"
    if isinstance(model, str) and model in BUNDLED:
        path = ASSETS / f"{BUNDLED[model]}.onnx"
        if not path.exists():
            raise DigitsError(f"bundled model '{model}' is not installed ({path})")
        return path
    path = Path(model)
    if path.is_dir():
        candidates = sorted(path.glob("*.onnx"))
        if len(candidates) != 1:
            raise DigitsError(f"{path}: expected exactly one .onnx model in the folder, found {len(candidates)}")
        path = candidates[0]
    if not path.exists():
        raise DigitsError(f"{path}: no such model file (give a .onnx file, a folder, or one of: {', '.join(BUNDLED)})")
    if path.suffix == ".json":
        path = path.with_suffix(".onnx")
    return path


def card_path(onnx_path: str | Path) -> Path:
    return Path(onnx_path).with_suffix(".json")


def read_card(onnx_path: str | Path) -> dict:
    """The model card beside ``onnx_path``, checked (:func:`check_card`): a bad card is a one-line error."""
    path = card_path(onnx_path)
    try:
        card = json.loads(path.read_text())
    except FileNotFoundError:
        raise DigitsError(f"{path}: model card missing beside {Path(onnx_path).name}") from None
    except (OSError, ValueError) as exc:
        raise DigitsError(f"{path}: unreadable model card ({' '.join(str(exc).split())[:200]})") from None
    problem = check_card(card)
    if problem:
        raise DigitsError(f"{path}: bad model card: {problem}")
    return card


def check_card(card) -> str | None:
    """What is wrong with a card's fields that inference reads, or ``None`` when they are usable."""
    if not isinstance(card, dict):
        return f"expected a JSON object, got {type(card).__name__}"
    spec = card.get("input")
    if not isinstance(spec, dict):
        return "'input' must be an object with a 'shape'"
    shape = spec.get("shape")
    if not (isinstance(shape, list) and shape and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in shape)
            and _product(shape) == 28 * 28):
        return f"'input.shape' must list positive integers that hold a 28x28 image, got {shape!r}"
    if not isinstance(spec.get("deskew", False), bool):
        return f"'input.deskew' must be true or false, got {spec.get('deskew')!r}"
    for key in ("name", "kind", "output"):
        if key in card and not isinstance(card[key], str):
            return f"'{key}' must be a string, got {card[key]!r}"
    if card.get("output_kind", "logits") not in ("logits", "probabilities", "scores"):
        return f"'output_kind' must be logits, probabilities or scores, got {card['output_kind']!r}"
    classes = card.get("classes", list(range(10)))
    if classes not in (list(range(10)), list(range(10)) + ["not a digit"], list(range(10)) + ["not a digit", "several digits"]):
        return f"'classes' must be the digits 0-9, optionally followed by \"not a digit\" (and \"several digits\"), got {classes!r}"
    threshold = card.get("not_digit_threshold", 0.5)
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold <= 1:
        return f"'not_digit_threshold' must be a number in (0, 1], got {threshold!r}"
    t = card.get("temperature", 1.0)
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 < t < float("inf"):
        return f"'temperature' must be a positive number, got {t!r}"
    return None


def _product(values: list[int]) -> int:
    out = 1
    for v in values:
        out *= v
    return out


def new_card(**fields) -> dict:
    """A card with the fields every model has; callers add the rest."""
    card = {
        "format": "handwritten-digits/model-card@1",
        "name": "model",
        "kind": "unknown",
        "input": {"shape": [1, 28, 28], "range": [0.0, 1.0], "deskew": False},
        "output": "logits",
        "temperature": 1.0,
        "classes": list(range(10)),
        "architecture": {},
        "training": {},
        "data": {},
        "metrics": {},
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "package_version": __version__,
    }
    card.update(fields)
    return card


def save_model(onnx_bytes: bytes, card: dict, out: str | Path) -> Path:
    """Write ``out`` (.onnx) and its card atomically; the card goes last so a model is never half-described."""
    out = Path(out)
    if out.suffix != ".onnx":
        out = out / f"{card.get('name', 'model')}.onnx"
    atomic_write_bytes(out, onnx_bytes)
    atomic_write_json(card_path(out), card)
    return out
