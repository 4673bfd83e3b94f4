"""Negative examples for the "not a digit" class: marks people's images hold that are not one digit.

Nothing is typed: letters, symbols, scribbles, spirals, dots, dashes, check marks, stars, hatching
and shapes come from a stroke generator (template polylines with jittered corners, a slow wobble,
random pen width, slant, rotation and size, drawn supersampled with round caps); textures (shadow
edges, stains, paper, ruled and squared lines) are ink maps built directly; parts of a digit, pairs
and stacks of digits are cut and joined from the MNIST-style digits passed in.

Marks written like a digit are left out on purpose (O o D Q, I l i j, Z z, S s, G b, T, B, g q, J,
P p d y r a, & $ ! ' " , [ ], a steep / or \\, a lone vertical bar, circles, most of a digit): the
model must not learn to reject real digits. A mark that reads as a "1" (narrow, or one steep straight
stroke) is drawn again.

>>> inputs, kinds = negative_inputs(1000, seed=0, digits=train_images)   # (1000, 28, 28), (1000,) into KINDS
>>> images = negative_images(50, seed=0)                                 # [(uint8 image, "spiral"), ...]
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import binary_fill_holes, gaussian_filter

from handwritten_digits.data.composites import _pair, _part
from handwritten_digits.data.strokes import LETTERS, SYMBOLS, dots, hand_drawn, hatching, polyline, scribble, shape, spiral, star
from handwritten_digits.reading.normalize import normalize_digit, prepare_single
from handwritten_digits.synthetic import _render, ink_patch

KINDS = ("letter", "symbol", "scribble", "spiral", "dot", "dash", "check", "star", "hatching", "shape",
         "texture", "part", "pair", "stack")
# share of each kind: touching pairs and columns weigh most, as a reader must tell them from marks
MIX = (0.12, 0.10, 0.09, 0.04, 0.05, 0.05, 0.04, 0.04, 0.04, 0.07, 0.07, 0.07, 0.16, 0.06)
NEEDS_DIGITS = ("part", "pair", "stack")
SEVERAL = ("pair", "stack")  # several digits in one piece: the reader cuts them; one digit they are not
NARROW = 0.4  # width/height under which a mark reads as a "1"


def _line_map(dist: np.ndarray, width: float) -> np.ndarray:
    return np.clip(width / 2 + 0.5 - np.abs(dist), 0, 1)


def _texture(rng) -> np.ndarray:
    """Ink maps of what is not written: shadow edges, stains, paper grain, ruled and squared lines."""
    h, w = (int(v) for v in rng.integers(24, 140, 2))
    w = max(w, h)  # a tall solid bar is a "1"
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    style = rng.integers(5)
    if style == 0:  # a shadow's soft edge
        a = rng.uniform(0, 2 * np.pi)
        d = (xx - w / 2) * np.cos(a) + (yy - h / 2) * np.sin(a) - rng.uniform(-0.3, 0.3) * min(h, w)
        ink = rng.uniform(0.4, 1.0) / (1 + np.exp(-d / rng.uniform(1, 0.3 * max(h, w))))
    elif style == 1:  # a stain: a blotch with a ragged edge
        noise = gaussian_filter(rng.normal(0, 1, (h, w)), min(h, w) / rng.uniform(4, 10))
        noise /= noise.std() + 1e-6
        fall = 1 - ((yy - h / 2) / (h / 2)) ** 2 - ((xx - w / 2) / (w / 2)) ** 2  # filled middle: no ring (a "0")
        ink = np.clip((fall + 0.25 * noise - 0.2) / 0.1, 0, 1) * rng.uniform(0.5, 1.0)
    elif style == 2:  # paper grain and fibres
        ink = np.clip(gaussian_filter(rng.normal(0, 1, (h, w)), rng.uniform(0.7, 3)) * 2 + 0.3, 0, 1) * rng.uniform(0.2, 0.7)
    else:  # ruled (style 3) or squared (4) paper: thin, long, straight lines
        w = int(h * rng.uniform(2, 5)) if style == 3 else w
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        # three lines or more each way: one rule and a margin line would make a "7" or a "+"
        step, slope, width = rng.uniform(7, min(20, h / 3)), rng.normal(0, 0.03), rng.uniform(0.8, 2.2)
        ink = _line_map((yy - slope * xx) % step - step / 2, width)
        if style == 4:
            ink = np.maximum(ink, _line_map((xx + slope * yy) % step - step / 2, width))
        elif rng.random() < 0.3:  # a margin line across the rules
            ink = np.maximum(ink, _line_map(xx - rng.uniform(0.1, 0.3) * w, width))
        ink *= rng.uniform(0.4, 1.0)
    ink = np.where(ink > 0.05, ink, 0).astype(np.float32)
    ys, xs = np.nonzero(ink)
    return ink.T if ys.size and np.ptp(ys) > np.ptp(xs) else ink  # a shadow's edge may leave a tall strip: a "1"


def _wide(image: np.ndarray, least: float = 0.45) -> bool:
    ys, xs = np.nonzero(image > 0.3)
    return xs.size > 0 and np.ptp(xs) + 1 >= least * (np.ptp(ys) + 1)


def _one_like(image: np.ndarray, thin: float = 0.09, steep: float = 0.82) -> bool:
    """Reads as a "1": narrow, or one straight stroke steeper than about 55 degrees (or no ink at all).

    ``thin``: the largest variance across the stroke, as a share of that along it; ``steep``: the
    least vertical component of its axis.
    """
    ys, xs = np.nonzero(image > 0.3)
    if xs.size < 3 or not _wide(image, NARROW):
        return True
    values, vectors = np.linalg.eigh(np.cov(np.stack([xs, ys]).astype(np.float64)))
    return values[0] < thin * values[1] and abs(vectors[1, 1]) > steep  # thin along its axis, axis steep


def _patch(digits, rng, height, wide=True) -> np.ndarray | None:
    """One digit at ``height`` px; ``None`` for a narrow one (a "1") when ``wide``."""
    image = digits[rng.integers(len(digits))]
    return ink_patch(image, height, rng) if not wide or _wide(image) else None


def _part_of(rng, digits) -> np.ndarray | None:
    """A left, right, top or bottom part of a wide digit, without a closed loop (a loop alone is a "0")."""
    a = _patch(digits, rng, int(rng.integers(16, 120)))
    if a is None:
        return None
    vertical = rng.random() < 0.5
    part = _part(a.T, rng).T if vertical else _part(a, rng)
    axis = 0 if vertical else 1
    if part.shape[axis] > 0.5 * a.shape[axis]:  # more than half a digit may still read as that digit
        return None
    mask = part > 0.4
    if not mask.any() or (binary_fill_holes(mask).sum() - mask.sum()) > 0.02 * mask.size:
        return None
    # a bold slanted bar cut from a digit is a "1" as written by many: stricter than for drawn marks
    return part if _wide(part, 0.6) and not _one_like(part, thin=0.25, steep=0.64) else None


def _pair_of(rng, digits) -> np.ndarray | None:
    """Two digits touching or overlapping, still showing two (not one 1 drawn over another)."""
    height = int(rng.integers(16, 100))
    a, b = _patch(digits, rng, height, wide=False), _patch(digits, rng, max(8, int(height * rng.uniform(0.85, 1.1))), wide=False)
    pair, start = _pair(a, b, rng)
    return pair if a.shape[1] - start <= 0.35 * min(a.shape[1], b.shape[1]) else None


def _stack_of(rng, digits) -> np.ndarray | None:
    """3-4 wide digits in a touching column (two could make an 8 or a 9; narrow ones a long "1")."""
    height = int(rng.integers(12, 45))
    patches = [_patch(digits, rng, max(8, int(height * rng.uniform(0.85, 1.1)))) for _ in range(int(rng.integers(3, 5)))]
    if any(p is None for p in patches):
        return None
    ys = np.cumsum([0] + [p.shape[0] + int(rng.uniform(-0.15, 0.0) * height) for p in patches[:-1]])
    xs = [int(rng.uniform(-0.25, 0.25) * height) for _ in patches]
    xs = np.array(xs) - min(xs)
    canvas = np.zeros((ys[-1] + patches[-1].shape[0], max(x + p.shape[1] for x, p in zip(xs, patches))), np.float32)
    for y, x, p in zip(ys, xs, patches):
        region = canvas[y : y + p.shape[0], x : x + p.shape[1]]
        np.maximum(region, p, out=region)
    return canvas


_MAKERS = {  # kind -> f(rng, digits)
    "letter": lambda rng, d: hand_drawn(list(LETTERS.values())[rng.integers(len(LETTERS))], rng),
    "symbol": lambda rng, d: hand_drawn(list(SYMBOLS.values())[rng.integers(len(SYMBOLS))], rng),
    "scribble": lambda rng, d: scribble(rng), "spiral": lambda rng, d: spiral(rng), "dot": lambda rng, d: dots(rng),
    # a dash is never near vertical (a "1"); a check's short arm is never too short (one steep stroke: a "1")
    "dash": lambda rng, d: hand_drawn([polyline((0, 0), (0.5, rng.normal(0, 0.03)), (1, 0))], rng, 20, (0.04, 0.3), (12, 120), slant=0),
    "check": lambda rng, d: hand_drawn([polyline((0, 0.5), (rng.uniform(0.3, 0.45), 1), (1.2, rng.uniform(-0.2, 0.1)))], rng, 10),
    "star": lambda rng, d: star(rng), "hatching": lambda rng, d: hatching(rng), "shape": lambda rng, d: shape(rng),
    "texture": lambda rng, d: _texture(rng), "part": _part_of, "pair": _pair_of, "stack": _stack_of,
}


def several_digits(kinds: np.ndarray) -> np.ndarray:
    """Which of ``kinds`` (indices into ``KINDS``, as :func:`negative_inputs` returns them) hold several digits."""
    return np.isin(kinds, [KINDS.index(k) for k in SEVERAL])


def negative_ink(kind: str, rng: np.random.Generator, digits: np.ndarray | None = None) -> np.ndarray:
    """One negative of ``kind`` as a soft ink patch (H, W) float32 in [0, 1], ink bright.

    Drawn at a random size (about 16-120 px) and pen width, as pieces of real images come. A draw
    that came out narrow enough to read as a "1" (or empty) is drawn again.
    """
    if kind not in _MAKERS:
        raise ValueError(f"unknown kind {kind!r} (one of {', '.join(KINDS)})")
    if kind in NEEDS_DIGITS and digits is None:
        raise ValueError(f"kind {kind!r} is cut from digits: pass digits")
    for _ in range(100):
        ink = _MAKERS[kind](rng, digits)
        if ink is not None and ink.max() > 0.3 and (kind == "stack" or not _one_like(ink)):
            return np.clip(ink, 0, 1).astype(np.float32)
    raise RuntimeError(f"could not draw a {kind!r} negative (digits all narrow?)")


def _on_canvas(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``ink`` placed off-centre on a larger blank canvas, never touching its border."""
    side = max(ink.shape)
    margins = (rng.uniform(0.15, 1.0, 4) * side).astype(int) + 6
    return np.pad(ink, ((margins[0], margins[1]), (margins[2], margins[3])))


def _kinds(n: int, rng: np.random.Generator, digits) -> list[str]:
    kinds = [k for k in KINDS if digits is not None or k not in NEEDS_DIGITS]
    p = np.array([MIX[KINDS.index(k)] for k in kinds])
    return [kinds[i] for i in rng.choice(len(kinds), size=n, p=p / p.sum())]


def negative_inputs(n: int, seed: int = 0, digits: np.ndarray | None = None, photo: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """``n`` negative model inputs and their kinds.

    Parameters
    ----------
    n : int
    seed : int
        Everything is deterministic by seed.
    digits : ndarray (M, 28, 28) in [0, 1], optional
        MNIST-style digits for the kinds cut from digits ("part", "pair", "stack"; skipped without):
        the training split for training, validation for validation, never test.
    photo : float
        The share rendered as a photo (paper, light, blur, noise, JPEG) and read back by
        :func:`~handwritten_digits.reading.normalize.prepare_single`; the rest go through
        :func:`~handwritten_digits.reading.normalize.normalize_digit` directly.

    Returns
    -------
    inputs : ndarray (n, 28, 28) float32 in [0, 1]
    kinds : ndarray (n,) int64, indices into ``KINDS``
    """
    from tqdm import tqdm

    rng = np.random.default_rng(seed)
    kinds = _kinds(n, rng, digits)
    inputs = np.zeros((n, 28, 28), np.float32)
    for i in tqdm(range(n), desc="negatives", leave=False, mininterval=1, disable=n <= 2000):
        ink = negative_ink(kinds[i], rng, digits)
        image = None
        if rng.random() < photo:
            found = prepare_single(_render(_on_canvas(ink, rng), rng))
            # the rendering may lose faint parts: what is left must still not read as a "1"
            if found is not None and (kinds[i] == "stack" or not _one_like(found.image)):
                image = found.image
        inputs[i] = normalize_digit(ink) if image is None else image
    return inputs, np.array([KINDS.index(k) for k in kinds], dtype=np.int64)


def negative_images(n: int, seed: int = 0, digits: np.ndarray | None = None) -> list[tuple[np.ndarray, str]]:
    """``n`` whole images of one negative each (uint8 grayscale, margin around the mark) and its kind.

    About 60% are photo-like (:func:`handwritten_digits.synthetic._render`), the rest clean drawings,
    dark on light or light on dark: for benchmarks that read them with the full reader.
    """
    rng = np.random.default_rng(seed)
    out = []
    for kind in _kinds(n, rng, digits):
        canvas = _on_canvas(negative_ink(kind, rng, digits), rng)
        if rng.random() < 0.6:
            image = _render(canvas, rng)
        else:
            paper, pen = (255.0, rng.uniform(0, 60)) if rng.random() < 0.8 else (rng.uniform(0, 40), 255.0)
            image = np.clip(paper + (pen - paper) * canvas + 0.5, 0, 255).astype(np.uint8)
        out.append((image, kind))
    return out
