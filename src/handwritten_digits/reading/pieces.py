"""The segment stage's unit: a piece of ink believed to be one digit (used by :mod:`.segment` and :mod:`.cuts`)."""

from __future__ import annotations

import functools

import cv2
import numpy as np

FAINTEST = 0.02  # soft ink this faint, left by interpolating a turned crop, is paper
SHORT = (0.3, 0.6)  # a piece under SHORT[1] line heights tall is unlikely a whole digit (none at SHORT[0])


class Piece:
    """A set of stroke pixels (working resolution) believed to be one digit, over the image's soft ink.

    ``rim``: the crop also takes the anti-aliased pixels just outside the piece. ``turn``: degrees
    (counter-clockwise) that turn the crop upright, on a page photographed turned. ``memo`` is left to
    later stages (the reader keeps a piece's model input and probabilities there, computed once).
    """

    def __init__(self, ys: np.ndarray, xs: np.ndarray, ink: np.ndarray, rim: bool = True, turn: float = 0.0):
        self.ys, self.xs, self.ink, self.rim, self.turn = ys, xs, ink, rim, turn
        self.memo: dict = {}

    @functools.cached_property
    def box(self) -> tuple[int, int, int, int]:
        """x0, y0, x1, y1 (exclusive) in working pixels."""
        return int(self.xs.min()), int(self.ys.min()), int(self.xs.max()) + 1, int(self.ys.max()) + 1

    @property
    def width(self) -> int:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> int:
        return self.box[3] - self.box[1]

    @property
    def area(self) -> int:
        return len(self.xs)

    def merge(self, other: "Piece") -> "Piece":
        return Piece(np.concatenate([self.ys, other.ys]), np.concatenate([self.xs, other.xs]), self.ink, self.rim, self.turn)

    def subset(self, which: np.ndarray) -> "Piece":
        return Piece(self.ys[which], self.xs[which], self.ink, self.rim, self.turn)

    def crop(self) -> np.ndarray:
        """The piece's soft ink (with its anti-aliased rim when ``rim``) in a tight crop, turned upright by ``turn``."""
        x0, y0, x1, y1 = self.box
        pad = 1 if self.rim else 0
        x0p, y0p = max(x0 - pad, 0), max(y0 - pad, 0)
        x1p, y1p = min(x1 + pad, self.ink.shape[1]), min(y1 + pad, self.ink.shape[0])
        own = np.zeros((y1p - y0p, x1p - x0p), np.uint8)
        own[self.ys - y0p, self.xs - x0p] = 1
        near = cv2.dilate(own, np.ones((3, 3), np.uint8)) if self.rim else own
        crop = np.where(near.view(bool), self.ink[y0p:y1p, x0p:x1p], np.float32(0)).astype(np.float32)
        inside = own.view(bool)
        crop[inside] = np.maximum(crop[inside], 0.05)
        return _turned(crop, self.turn) if self.turn else crop


def _turned(crop: np.ndarray, degrees: float) -> np.ndarray:
    """``crop`` turned ``degrees`` counter-clockwise about its centre, on a canvas that holds all of it."""
    h, w = crop.shape
    pad = (int(np.hypot(h, w)) - min(h, w)) // 2 + 2
    big = np.pad(crop, pad)
    m = cv2.getRotationMatrix2D((big.shape[1] / 2, big.shape[0] / 2), degrees, 1.0)
    out = cv2.warpAffine(big, m, big.shape[::-1], flags=cv2.INTER_LINEAR)
    out[out < FAINTEST] = 0  # interpolation's faint halo would widen the tight crop taken of it
    return out


def short_prior(piece: Piece, line: float) -> float:
    """Log-prior that ``piece`` is a whole digit from its height: every digit spans most of the line."""
    lo, hi = SHORT
    return float(np.log(np.clip((piece.height / line - lo) / (hi - lo), 0.01, 1.0)))
