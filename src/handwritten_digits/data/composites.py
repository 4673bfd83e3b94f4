"""Crops that are, or are not, one whole digit: training data for the segmentation checker.

A classifier trained on MNIST reads anything as some digit, often surely: two touching digits,
half a digit, a digit with a sliver of its neighbour. The segmenter needs to know which crops
hold exactly one whole digit, so it learns that from crops built here out of MNIST digits and
normalised exactly as the reading pipeline normalises its pieces
(:func:`handwritten_digits.reading.normalize.normalize_digit`):

* label 1, *whole*: one digit;
* label 0, *not whole*: two touching or overlapping digits; a left or right part of a digit;
  a wrong cut through a touching pair (one digit plus a part of the next).

>>> images, labels = make_crops(mnist_images, n=20000, seed=0)   # (N, 28, 28) float32, (N,) int64
"""

from __future__ import annotations

import cv2
import numpy as np

from handwritten_digits.reading.normalize import normalize_digit
from handwritten_digits.synthetic import ink_patch

KINDS = ("whole", "pair", "part", "wrong_cut")
MIX = (0.5, 0.25, 0.15, 0.1)  # share of each kind


def _pair(a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """Digits ``a`` and ``b`` side by side, touching or overlapping; and the column where b begins."""
    height = max(a.shape[0], b.shape[0])
    gap = int(round(rng.uniform(-0.3, 0.0) * height))  # b starts this far right of a's right edge
    start = max(1, a.shape[1] + gap)
    dy_a, dy_b = (int(rng.integers(0, height - x.shape[0] + 1)) for x in (a, b))
    lift = int(rng.integers(-height // 8, height // 8 + 1))
    top = max(0, -lift)
    canvas = np.zeros((height + abs(lift), max(a.shape[1], start + b.shape[1])), np.float32)
    canvas[top + dy_a : top + dy_a + a.shape[0], : a.shape[1]] = a
    region = canvas[top + lift + dy_b : top + lift + dy_b + b.shape[0], start : start + b.shape[1]]
    np.maximum(region, b, out=region)
    return canvas, start


def _part(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The left or right part of a (wide enough) digit, cut at 25-75% of its width."""
    cut = max(1, int(round(rng.uniform(0.25, 0.75) * image.shape[1])))
    return image[:, :cut] if rng.random() < 0.5 else image[:, cut:]


def make_crops(images: np.ndarray, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` normalised 28x28 crops from ``images`` (MNIST-style digits), about half of them whole.

    Parameters
    ----------
    images : ndarray (M, 28, 28) in [0, 1]
        Digits to build from (use the training split for training, validation for validation).
    n : int
        How many crops.
    seed : int
        Everything is deterministic by seed.

    Returns
    -------
    crops : ndarray (n, 28, 28) float32
    whole : ndarray (n,) int64, 1 where the crop is exactly one whole digit
    """
    rng = np.random.default_rng(seed)
    kinds = rng.choice(len(KINDS), size=n, p=MIX)
    crops = np.zeros((n, 28, 28), np.float32)
    labels = (kinds == 0).astype(np.int64)
    for i, kind in enumerate(kinds):
        # every crop is drawn at a random size and stroke width first, as pieces of real images come:
        # whole digits must not be told apart by resampling traces
        height = int(rng.integers(16, 100))
        a = ink_patch(images[rng.integers(len(images))], height, rng)
        if KINDS[kind] == "whole":
            piece = a
        elif KINDS[kind] == "part" and a.shape[1] >= 0.6 * a.shape[0]:  # a part of a "1" is still a "1"
            piece = _part(a, rng)
        elif KINDS[kind] == "part":
            piece, labels[i] = a, 1
        else:
            b = ink_patch(images[rng.integers(len(images))], max(8, int(height * rng.uniform(0.85, 1.1))), rng)
            pair, start = _pair(a, b, rng)
            piece = pair
            if KINDS[kind] == "wrong_cut":  # cut well away from where the second digit begins
                height = pair.shape[0]
                offset = int(round(rng.uniform(0.25, 0.5) * height)) * (1 if rng.random() < 0.5 else -1)
                cut = min(max(start + offset, 2), pair.shape[1] - 2)
                piece = pair[:, :cut] if rng.random() < 0.5 else pair[:, cut:]
        image = normalize_digit(piece) if (piece > 0.05).any() else None
        if image is None:  # an empty sliver: use a whole digit instead
            image, labels[i] = normalize_digit(a), 1
        crops[i] = image
    return crops, labels


CUT_WHOLE = 0.95  # a part holding this share of one digit's ink, and ...
CUT_FOREIGN = 0.05  # ... at most this share of other ink, is that digit whole
CUT_BROKEN = (0.85, 0.15)  # one holding less of any digit, or more other ink, is not; between: left out


def _touching_row(layers: list[np.ndarray], height: int, rng: np.random.Generator) -> np.ndarray:
    """Digits ``layers`` side by side, touching or overlapping, each on its own canvas: (k, H, W)."""
    lift = [int(rng.integers(-height // 8, height // 8 + 1)) for _ in layers]
    tall = max(x.shape[0] for x in layers) + 2 * (height // 8) + 2
    starts, x = [], 1
    for a in layers:
        starts.append(x)
        x += a.shape[1] + int(round(rng.uniform(-0.3, 0.05) * height))
        x = max(x, starts[-1] + 1)
    out = np.zeros((len(layers), tall, max(s + a.shape[1] for s, a in zip(starts, layers)) + 1), np.float32)
    for k, (a, s, dy) in enumerate(zip(layers, starts, lift)):
        top = (tall - a.shape[0]) // 2 + dy
        out[k, top : top + a.shape[0], s : s + a.shape[1]] = a
    angle = float(rng.uniform(-8, 8))  # lines on a page lean a little
    m = cv2.getRotationMatrix2D((out.shape[2] / 2, out.shape[1] / 2), angle, 1.0)
    return np.stack([cv2.warpAffine(layer, m, layer.shape[::-1], flags=cv2.INTER_LINEAR) for layer in out])


def cut_crops(images: np.ndarray, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` crops of the parts the reader's cut search weighs in a row of 2-3 touching digits, labelled
    whole (1) or not (0) by which digit's ink each part holds.

    :func:`make_crops` cuts pairs at straight columns; the reader cuts along paths through the least ink
    (:func:`handwritten_digits.reading.cuts.partitions`), and its near misses (a 7 that lost its bar to
    the next digit, a digit holding the stem of its neighbour) are what the checker must tell from whole
    digits. Each row keeps one whole part per digit found whole and at most as many others, drawn at
    random (a checker that sees more broken parts than whole ones learns to doubt every part, and joins
    digits).

    Returns
    -------
    crops : ndarray (n, 28, 28) float32
    whole : ndarray (n,) int64
    """
    from handwritten_digits.reading.cuts import partitions
    from handwritten_digits.reading.pieces import Piece

    rng = np.random.default_rng(seed)
    crops, labels = [], []
    while len(crops) < n:
        height = int(rng.integers(20, 80))
        layers = [ink_patch(images[rng.integers(len(images))], max(8, int(height * rng.uniform(0.85, 1.1))), rng)
                  for _ in range(int(rng.integers(2, 4)))]
        row = _touching_row(layers, height, rng)
        soft = row.max(axis=0)
        own = row > 0.35
        ys, xs = np.nonzero(own.any(axis=0))
        sizes = own[:, ys, xs].sum(axis=1)
        if not len(ys) or sizes.min() == 0:
            continue
        whole, broken = {}, []
        for part in partitions(Piece(ys, xs, soft), float(height))[0].values():
            held = own[:, part.ys, part.xs]
            cover = held.sum(axis=1) / sizes
            d = int(cover.argmax())
            foreign = 1.0 - float(held[d].mean())
            if cover[d] >= CUT_WHOLE and foreign <= CUT_FOREIGN:
                whole.setdefault(d, []).append(part)
            elif cover[d] < CUT_BROKEN[0] or foreign > CUT_BROKEN[1]:
                broken.append(part)
        chosen = [(same[int(rng.integers(len(same)))], 1) for same in whole.values()]  # one of each digit's near-copies
        chosen += [(broken[k], 0) for k in rng.permutation(len(broken))[: max(1, len(whole))]]
        for part, label in chosen:
            image = normalize_digit(part.crop())
            if image is not None:
                crops.append(image)
                labels.append(label)
    return np.stack(crops[:n]).astype(np.float32), np.asarray(labels[:n], dtype=np.int64)


def photo_inputs(images: np.ndarray, labels: np.ndarray, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` digits drawn from ``images`` rendered as photos and read back by the reading stages.

    Each digit goes through :func:`handwritten_digits.synthetic.photo_digit` (off-centre on paper,
    random scale, stroke width, blur, noise, uneven light, JPEG) and then
    :func:`handwritten_digits.reading.normalize.prepare_single`: the model inputs exactly as the reading
    pipeline makes them from real images, for training a model on what it will see.

    Returns
    -------
    inputs : ndarray (m, 28, 28) float32, m <= n (a digit whose ink is lost in the rendering is skipped)
    labels : ndarray (m,) int64
    """
    from tqdm import tqdm

    from handwritten_digits.reading.normalize import prepare_single
    from handwritten_digits.synthetic import photo_digit

    rng = np.random.default_rng(seed)
    picks = rng.choice(len(images), size=min(n, len(images)), replace=False)
    inputs, kept = [], []
    for i in tqdm(picks, desc="photo digits", leave=False, mininterval=1.0):
        digit = prepare_single(photo_digit(images[i], rng))
        if digit is not None:
            inputs.append(digit.image)
            kept.append(labels[i])
    return np.stack(inputs).astype(np.float32), np.asarray(kept, dtype=np.int64)


def number_piece_inputs(images: np.ndarray, labels: np.ndarray, numbers: int, seed: int = 0,
                        reader=None) -> tuple[np.ndarray, np.ndarray]:
    """Digits as the reader cuts them out of photo-like numbers built from ``images``.

    Each number (2-6 digits, :func:`handwritten_digits.synthetic.photo_number`) is read by
    ``reader`` (a :class:`~handwritten_digits.runtime.Recognizer`, default the bundled one); when
    it finds as many digits as were drawn, each piece is labelled in left-to-right order. Pieces
    then carry what real numbers leave in them: slivers of neighbours, cut strokes, uneven sizes.
    """
    from tqdm import tqdm

    from handwritten_digits.reading.normalize import extract_digits
    from handwritten_digits.runtime import Recognizer
    from handwritten_digits.synthetic import photo_number

    reader = reader or Recognizer.load(threads=1)
    rng = np.random.default_rng(seed)
    inputs, kept = [], []
    for _ in tqdm(range(numbers), desc="number pieces", leave=False, mininterval=1.0):
        picks = rng.choice(len(images), size=int(rng.integers(2, 7)), replace=False)
        digits = extract_digits(photo_number([images[i] for i in picks], rng), scorer=reader.piece_scores)
        if len(digits) == len(picks):
            inputs += [d.image for d in digits]
            kept += [labels[i] for i in picks]
    return np.stack(inputs).astype(np.float32), np.asarray(kept, dtype=np.int64)


def page_piece_inputs(images: np.ndarray, labels: np.ndarray, pages: int, read, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Digits as ``read`` cuts them out of generated pages (:func:`handwritten_digits.data.pages.make_page`)
    built from ``images``.

    ``read`` maps an image to a :class:`~handwritten_digits.results.ReadResult` (a reader's ``read``: passed
    in, because data never imports the reader). A line is kept when it is read with the truth's numbers and
    digits, each digit labelled by the truth. The inputs carry what pages do to digits: a thin pen's broken
    strokes, ruled and squared paper under the ink, slivers of neighbours, shadows.
    """
    from tqdm import tqdm

    from handwritten_digits.data.pages import make_page

    rng = np.random.default_rng(seed)
    inputs, kept = [], []
    for _ in tqdm(range(pages), desc="page pieces", leave=False, mininterval=1.0):
        image, truth = make_page(rng, (images, labels))
        result = read(image)
        if len(result.lines) != len(truth.lines):
            continue
        for line, want, mine in zip(result.lines, truth.lines, truth.line_sources):
            if [len(n.digits) for n in line.numbers] == [len(t) for t in want]:
                inputs += [np.asarray(d.image, dtype=np.float32).reshape(28, 28) for n in line.numbers for d in n.digits]
                kept += [labels[k] for k in mine]
    return np.asarray(inputs, dtype=np.float32).reshape(-1, 28, 28), np.asarray(kept, dtype=np.int64)
