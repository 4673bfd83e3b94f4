"""Self-describing checkpoints, written atomically and loaded without executing code."""

from __future__ import annotations

import io
from pathlib import Path

import torch

from handwritten_digits.errors import DigitsError
from handwritten_digits.fileio import atomic_write_bytes


def save_checkpoint(path: str | Path, state: dict) -> Path:
    """``state`` holds only tensors and plain Python values (so ``weights_only`` loading works)."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(path: str | Path) -> dict:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise DigitsError(f"{path}: no checkpoint there") from None
    except Exception as exc:  # torch raises several types for foreign or corrupt files
        raise DigitsError(f"{path}: not a readable checkpoint ({str(exc).splitlines()[0]})") from None
