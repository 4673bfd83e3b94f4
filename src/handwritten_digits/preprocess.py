"""Turn any image into the 28x28 inputs a model sees, the way MNIST was made.

One module for training, CLI, API and page. The model contract: float32 images of shape
(28, 28) in [0, 1], ink bright on a dark background, the digit scaled into a 20x20 box and
centred by its centre of mass in the 28x28 frame. Models standardise with ``MNIST_MEAN`` and
``MNIST_STD`` inside their own graph, so every caller feeds the same [0, 1] images.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from handwritten_digits.errors import DigitsError

MNIST_MEAN = 0.1307  # mean pixel of the MNIST training images, scaled to [0, 1]
MNIST_STD = 0.3081  # and their standard deviation
SIZE = 28  # the model's input frame
BOX = 20  # MNIST fits each digit's longer side into this box
MAX_PIXELS = 40_000_000  # larger images are refused before decoding (decompression bombs)


@dataclass
class Digit:
    """One digit found in an image: the model-ready 28x28 input and its box in the input image."""

    image: np.ndarray  # (28, 28) float32 in [0, 1]
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive) in input pixels


def load_image(source) -> np.ndarray:
    """Decode ``source`` (path, bytes, PIL image or array) to grayscale float32 in [0, 1].

    Transparent pixels count as white paper; EXIF orientation is applied.
    """
    if isinstance(source, np.ndarray):
        return _array_to_gray(source)
    if isinstance(source, Image.Image):
        return _pil_to_gray(source)
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        name = "image data"
    else:
        path = Path(source)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise DigitsError(f"{path}: cannot read file ({exc.strerror or exc})") from None
        name = str(path)
    if not data:
        raise DigitsError(f"{name}: empty file")
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.width * img.height > MAX_PIXELS:
                raise DigitsError(f"{name}: image too large ({img.width}x{img.height} pixels)")
            img.seek(0)
            return _pil_to_gray(img)
    except DigitsError:
        raise
    except Image.DecompressionBombError:
        raise DigitsError(f"{name}: image too large (decompression bomb refused)") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise DigitsError(f"{name}: not a readable image ({exc})") from None


def _pil_to_gray(img: Image.Image) -> np.ndarray:
    img = ImageOps.exif_transpose(img)
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float32)
        top = arr.max()
        return arr / top if top > 0 else arr
    if img.mode == "P":
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA"):
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, img.convert("RGBA"))
    return np.asarray(img.convert("L"), dtype=np.float32) / 255.0


def _array_to_gray(arr: np.ndarray) -> np.ndarray:
    arr = np.asarray(arr)
    if arr.ndim == 3 and arr.shape[2] in (3, 4):
        arr = arr[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        scale = 255.0 if np.asarray(arr).max() > 1.0 else 1.0
        return (arr / scale).astype(np.float32)
    if arr.ndim != 2:
        raise DigitsError(f"expected a 2-D grayscale or HxWx3 image, got shape {arr.shape}")
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / 255.0
    arr = arr.astype(np.float32)
    return arr / 255.0 if arr.max() > 1.0 else arr


def ink_map(gray: np.ndarray) -> np.ndarray:
    """Ink intensity in [0, 1] (1 = full ink), whatever the polarity of the input."""
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    ink = 1.0 - gray if np.median(border) > 0.5 else gray.copy()
    background = np.median(ink)
    ink = np.clip((ink - background) / max(1e-6, 1.0 - background), 0.0, 1.0)
    ink[ink < 0.15] = 0.0
    return ink


def normalize_digit(ink: np.ndarray) -> np.ndarray | None:
    """Crop ``ink`` to its strokes and place it in a 28x28 frame as MNIST did; ``None`` if blank."""
    ys, xs = np.nonzero(ink > 0)
    if len(xs) == 0:
        return None
    crop = ink[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    h, w = crop.shape
    scale = BOX / max(h, w)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    resized = Image.fromarray((crop * 255).astype(np.uint8)).resize((new_w, new_h), Image.LANCZOS)
    digit = np.asarray(resized, dtype=np.float32) / 255.0
    frame = np.zeros((SIZE, SIZE), dtype=np.float32)
    total = digit.sum()
    if total <= 0:
        return None
    cy = (digit.sum(axis=1) * np.arange(new_h)).sum() / total
    cx = (digit.sum(axis=0) * np.arange(new_w)).sum() / total
    top = int(round(SIZE / 2 - cy))
    left = int(round(SIZE / 2 - cx))
    top = min(max(top, 0), SIZE - new_h)
    left = min(max(left, 0), SIZE - new_w)
    frame[top : top + new_h, left : left + new_w] = digit
    return np.clip(frame, 0.0, 1.0)


def deskew(image: np.ndarray) -> np.ndarray:
    """Shear a 28x28 digit so its principal axis is vertical (image moments, as in LeCun et al.)."""
    from scipy.ndimage import affine_transform

    img = np.asarray(image, dtype=np.float32)
    total = img.sum()
    if total <= 0:
        return img
    ys, xs = np.mgrid[: img.shape[0], : img.shape[1]]
    cy, cx = (ys * img).sum() / total, (xs * img).sum() / total
    var_y = (((ys - cy) ** 2) * img).sum() / total
    cov = ((xs - cx) * (ys - cy) * img).sum() / total
    if var_y < 1e-6:
        return img
    alpha = cov / var_y
    center = np.array(img.shape) / 2.0
    matrix = np.array([[1.0, 0.0], [alpha, 1.0]])
    offset = np.array([cy, cx]) - matrix @ center
    return affine_transform(img, matrix, offset=offset, order=1, mode="constant").astype(np.float32)


def prepare_single(source) -> Digit | None:
    """The whole image as one digit; ``None`` when it holds no ink."""
    ink = ink_map(load_image(source))
    image = normalize_digit(ink)
    if image is None:
        return None
    ys, xs = np.nonzero(ink > 0)
    return Digit(image=image, box=(int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1))


def extract_digits(source) -> list[Digit]:
    """Every digit in the image, left to right (connected components of the ink)."""
    from scipy import ndimage

    ink = ink_map(load_image(source))
    labels, count = ndimage.label(ink > 0)
    if count == 0:
        return []
    slices = ndimage.find_objects(labels)
    sizes = ndimage.sum_labels(np.ones_like(ink), labels, index=np.arange(1, count + 1))
    min_size = max(4, 0.02 * sizes.max())
    digits = []
    for index, (sl, size) in enumerate(zip(slices, sizes), start=1):
        if size < min_size:
            continue
        piece = np.where(labels[sl] == index, ink[sl], 0.0)
        image = normalize_digit(piece)
        if image is not None:
            ys, xs = sl
            digits.append(Digit(image=image, box=(xs.start, ys.start, xs.stop, ys.stop)))
    return sorted(digits, key=lambda d: d.box[0])
