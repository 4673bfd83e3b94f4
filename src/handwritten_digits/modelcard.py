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
    path = card_path(onnx_path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise DigitsError(f"{path}: model card missing beside {Path(onnx_path).name}") from None
    except (OSError, ValueError) as exc:
        raise DigitsError(f"{path}: unreadable model card ({exc})") from None


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
