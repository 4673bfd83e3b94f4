"""Photo-like test images built from MNIST **test** digits, for tests, benchmarks and the notebook.

Single digits are pasted off-centre on larger canvases at a random scale, polarity, stroke
thickness, blur, noise, gradient illumination and JPEG compression; numbers of 2-6 digits are
composed with random spacing (some touching or overlapping). Everything is deterministic by seed.

>>> from handwritten_digits.synthetic import make_singles, make_numbers
>>> singles = make_singles(50, seed=0)     # list of Sample(image uint8 HxW, label "7")
>>> numbers = make_numbers(20, seed=0)     # list of Sample(image, label "2026")
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image


@dataclass
class Sample:
    """A synthetic image (uint8 grayscale, H x W) and the digits it shows, as a string."""

    image: np.ndarray
    label: str


def mnist_test_digits(data_dir=None) -> tuple[np.ndarray, np.ndarray]:
    """MNIST test images (N, 28, 28) float32 in [0, 1] and labels: never used for training or tuning."""
    from handwritten_digits.data import load_dataset

    return load_dataset("test", data_dir)


def ink_patch(image28: np.ndarray, height: int, rng: np.random.Generator) -> np.ndarray:
    """A 28x28 MNIST digit as a soft ink patch ``height`` pixels tall (cropped to its strokes)."""
    img = np.asarray(image28, dtype=np.float32)
    ys, xs = np.nonzero(img > 0.05)
    crop = img[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    f = height / crop.shape[0]
    size = (max(1, round(crop.shape[1] * f)), max(1, height))
    big = np.asarray(Image.fromarray(crop, mode="F").resize(size, Image.BICUBIC), dtype=np.float32)
    big = np.clip(big, 0, 1)
    # stroke thickness: threshold lower (thicker) or higher (thinner) than the anti-aliased middle
    cut = rng.uniform(0.15, 0.75)
    soft = 0.08 + 0.05 * f
    return np.clip((big - cut) / soft + 0.5, 0, 1).astype(np.float32)


def _render(ink: np.ndarray, rng: np.random.Generator, quality_range=(35, 95)) -> np.ndarray:
    """Ink on paper: polarity, contrast, gradient illumination, blur, noise, JPEG; uint8 output."""
    h, w = ink.shape
    blur = float(rng.choice([0.0, 0.0, 0.6, 1.0, 1.6])) * max(1.0, min(h, w) / 150)
    if blur:
        from scipy.ndimage import gaussian_filter

        ink = gaussian_filter(ink, blur).astype(np.float32)
    dark_on_light = rng.random() < 0.7
    paper = rng.uniform(0.65, 0.95) if dark_on_light else rng.uniform(0.0, 0.3)
    pen = rng.uniform(0.0, 0.3) if dark_on_light else rng.uniform(0.75, 1.0)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(angle) * xx / w + np.sin(angle) * yy / h)
    illumination = 1.0 + rng.uniform(0.0, 0.35) * (ramp - ramp.mean())  # uneven light over the sheet
    img = (paper + (pen - paper) * ink) * illumination
    img += rng.normal(0, rng.uniform(0.0, 0.04), size=img.shape)
    out = np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8)
    if rng.random() < 0.5:
        buffer = io.BytesIO()
        Image.fromarray(out).save(buffer, format="JPEG", quality=int(rng.integers(*quality_range)))
        out = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("L"))
    return out


def photo_digit(image28: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One MNIST digit on a larger, photo-like canvas, off-centre."""
    canvas_h, canvas_w = int(rng.integers(48, 320)), int(rng.integers(48, 320))
    height = int(rng.uniform(0.3, 0.85) * min(canvas_h, canvas_w))
    ink = ink_patch(image28, max(12, height), rng)
    ink = ink[:canvas_h, :canvas_w]
    canvas = np.zeros((canvas_h, canvas_w), np.float32)
    top = int(rng.integers(0, canvas_h - ink.shape[0] + 1))
    left = int(rng.integers(0, canvas_w - ink.shape[1] + 1))
    canvas[top : top + ink.shape[0], left : left + ink.shape[1]] = ink
    return _render(canvas, rng)


def photo_number(images28: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """Several MNIST digits side by side (random spacing, some touching), on a photo-like canvas."""
    height = int(rng.integers(28, 90))
    patches = [ink_patch(im, max(12, int(height * rng.uniform(0.85, 1.1))), rng) for im in images28]
    gaps = [int(round(height * rng.choice([rng.uniform(-0.08, 0.0), rng.uniform(0.0, 0.5)], p=[0.2, 0.8])))
            for _ in patches[1:]]
    margin = int(height * rng.uniform(0.2, 1.0))
    width = sum(p.shape[1] for p in patches) + sum(gaps) + 2 * margin
    tall = max(p.shape[0] for p in patches)
    canvas_h = tall + 2 * margin + int(height * 0.2)
    canvas = np.zeros((canvas_h, max(width, 8)), np.float32)
    x = margin
    for i, p in enumerate(patches):
        y = margin + int(rng.integers(0, max(1, int(height * 0.2))))
        region = canvas[y : y + p.shape[0], x : x + p.shape[1]]
        np.maximum(region, p[: region.shape[0], : region.shape[1]], out=region)
        x += p.shape[1] + (gaps[i] if i < len(gaps) else 0)
    return _render(canvas, rng)


def make_singles(count: int, seed: int = 0, data_dir=None, digits=None) -> list[Sample]:
    """``count`` photo-like single digits from MNIST test digits (``digits``: (images, labels) to draw from)."""
    images, labels = digits if digits is not None else mnist_test_digits(data_dir)
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(images), size=count, replace=False)
    return [Sample(photo_digit(images[i], rng), str(int(labels[i]))) for i in picks]


def make_numbers(count: int, seed: int = 0, data_dir=None, digits=None, lengths=(2, 6)) -> list[Sample]:
    """``count`` photo-like numbers of ``lengths`` digits (inclusive range) from MNIST test digits."""
    images, labels = digits if digits is not None else mnist_test_digits(data_dir)
    rng = np.random.default_rng(seed + 1_000_003)
    out = []
    for _ in range(count):
        n = int(rng.integers(lengths[0], lengths[1] + 1))
        picks = rng.choice(len(images), size=n, replace=False)
        image = photo_number([images[i] for i in picks], rng)
        out.append(Sample(image, "".join(str(int(labels[i])) for i in picks)))
    return out


def write_samples(folder, data_dir=None) -> list[str]:
    """Write the small bundled sample images (``assets/samples``) from MNIST test digits.

    ``digit-7.png`` (dark pen on white), ``digit-3-light-on-dark.png``, ``number-2026.png`` (a
    clean drawing) and ``photo-number-417.jpg`` (paper photo: uneven light, noise, JPEG).
    """
    from pathlib import Path

    images, labels = mnist_test_digits(data_dir)
    first = {d: int(np.nonzero(labels == d)[0][1]) for d in range(10)}  # the second of each class
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)

    def clean(text: str, light_on_dark: bool = False) -> np.ndarray:
        patches = [ink_patch(images[first[int(c)]], 60, rng) for c in text]
        canvas = np.zeros((100, sum(p.shape[1] + 12 for p in patches) + 40), np.float32)
        x = 26
        for p in patches:
            canvas[20 : 20 + p.shape[0], x : x + p.shape[1]] = np.maximum(canvas[20 : 20 + p.shape[0], x : x + p.shape[1]], p)
            x += p.shape[1] + 12
        ink = canvas if light_on_dark else 1.0 - canvas
        return (ink * 255).astype(np.uint8)

    Image.fromarray(clean("7")).save(folder / "digit-7.png", optimize=True)
    Image.fromarray(clean("3", light_on_dark=True)).save(folder / "digit-3-light-on-dark.png", optimize=True)
    Image.fromarray(clean("2026")).save(folder / "number-2026.png", optimize=True)
    photo = photo_number([images[first[int(c)]] for c in "417"], np.random.default_rng(3))
    Image.fromarray(photo).save(folder / "photo-number-417.jpg", quality=85)
    return sorted(p.name for p in folder.iterdir())
