"""Stage 1, decode: bytes, a path, a PIL image or an array -> a grayscale :class:`GrayImage` in [0, 1].

Pillow reads the header (format, size, mode, EXIF orientation) without decoding a pixel, so
decompression bombs and formats we do not read are refused at once; OpenCV then decodes the common
cases (8-bit PNG and JPEG), several times faster than Pillow, and a large JPEG straight at a reduced
resolution (the DCT does the shrinking) when the reader will not look at more pixels anyway.
Everything else (palettes, 16-bit, CMYK, animations, TIFF, ...) is decoded by Pillow.
"""

from __future__ import annotations

import io
import os
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps

from handwritten_digits.errors import DigitsError

MAX_PIXELS = 40_000_000  # larger images are refused before decoding (decompression bombs)
MAX_SIDE = 30_000  # a side longer than this is refused too, whatever the area
MAX_FILE_BYTES = 256 * 1024 * 1024  # a file larger than this is not read at all
# The formats read, for the CLI and the server alike: common raster formats only, a smaller attack
# surface than "anything Pillow opens" (EPS would reach Ghostscript). JPEG includes MPO (iPhone photos).
FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF", "PPM", "HEIF")
_CV_MODES = {"L": cv2.IMREAD_GRAYSCALE, "RGB": cv2.IMREAD_GRAYSCALE, "RGBA": cv2.IMREAD_UNCHANGED}
_REDUCED = {2: cv2.IMREAD_REDUCED_GRAYSCALE_2, 4: cv2.IMREAD_REDUCED_GRAYSCALE_4, 8: cv2.IMREAD_REDUCED_GRAYSCALE_8}


@dataclass(frozen=True)
class GrayImage:
    """A decoded image: gray levels in [0, 1] (either polarity), possibly at a reduced resolution.

    ``shape`` is the input image's (height, width); ``scale`` maps pixels here to input pixels.
    """

    pixels: np.ndarray  # (h, w) float32 in [0, 1]
    shape: tuple[int, int]

    @property
    def scale(self) -> float:
        return max(self.shape) / max(self.pixels.shape)


def decode(source, max_side: int | None = None, max_pixels: int = MAX_PIXELS) -> GrayImage:
    """Decode ``source`` (path, bytes, PIL image, array or :class:`GrayImage`) for reading.

    Parameters
    ----------
    max_side : int, optional
        The caller looks at no more than this many pixels on the longer side: a JPEG twice as large
        or more is decoded at 1/2, 1/4 or 1/8 of its size (never below ``max_side``).
    max_pixels : int
        Encoded images with more pixels are refused from their header (a server may allow fewer).

    Raises
    ------
    DigitsError
        Unreadable, empty, truncated, oversized or special-file input (sizes are checked from the
        header, before any pixel is decoded).
    """
    if isinstance(source, GrayImage):
        return source
    if isinstance(source, (bytes, bytearray, memoryview, str, Path)):
        data, name = _read_bytes(source)
        return _decode_bytes(data, name, max_side, max_pixels)
    gray = load_image(source)
    return GrayImage(gray, gray.shape)


def load_image(source) -> np.ndarray:
    """Decode ``source`` (path, bytes, PIL image or array) at full size to grayscale float32 in [0, 1].

    Transparent pixels count as white paper; EXIF orientation is applied; an animated or multi-page
    file (GIF, TIFF, WebP, APNG) is read from its first frame.
    """
    if isinstance(source, np.ndarray):
        return _array_to_gray(source)
    if isinstance(source, Image.Image):
        _check_size(source.width, source.height, "image")
        return _pil_decode(source, "image")
    if isinstance(source, GrayImage):
        return source.pixels
    if not isinstance(source, (bytes, bytearray, memoryview, str, Path)):
        raise DigitsError(f"cannot read an image from a {type(source).__name__}")
    data, name = _read_bytes(source)
    return _decode_bytes(data, name, None, MAX_PIXELS).pixels


# ---------------------------------------------------------------- bytes


def _read_bytes(source) -> tuple[bytes, str]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, name = bytes(source), "image data"
    else:
        path = Path(source)
        name = str(path)
        try:
            info = path.stat()
        except FileNotFoundError:
            raise DigitsError(f"{path}: cannot read file: no such file") from None
        except OSError as exc:
            raise DigitsError(f"{path}: cannot read file ({exc.strerror or exc})") from None
        if stat.S_ISDIR(info.st_mode):
            raise DigitsError(f"{path}: is a folder, not an image")
        if not stat.S_ISREG(info.st_mode):  # a FIFO or device would block or never end
            raise DigitsError(f"{path}: not a regular file")
        if info.st_size > MAX_FILE_BYTES:
            raise DigitsError(f"{path}: file too large ({info.st_size:,} bytes; limit {MAX_FILE_BYTES:,})")
        try:
            with open(path, "rb", opener=lambda p, f: os.open(p, f | os.O_NONBLOCK)) as fh:
                data = fh.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise DigitsError(f"{path}: cannot read file ({exc.strerror or exc})") from None
    if not data:
        raise DigitsError(f"{name}: empty file")
    return data, name


def open_header(data: bytes, name: str = "image data", max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Parse the header only: format, size and mode; refuse formats outside :data:`FORMATS`, bombs, and
    images of more than ``max_pixels``."""
    Image.init()
    if data[4:8] == b"ftyp":  # an ISO media file: perhaps HEIC, the iPhone's default
        _register_heif()
    try:
        with warnings.catch_warnings():  # sizes are checked below, with our own limit and message
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=[f for f in FORMATS if f in Image.OPEN])  # HEIF once registered
    except Image.DecompressionBombError:
        raise DigitsError(f"{name}: image too large (decompression bomb refused)") from None
    except Image.UnidentifiedImageError:
        raise DigitsError(f"{name}: not an image (or not PNG, JPEG, WebP, GIF, BMP, TIFF, PPM or HEIC)") from None
    except Exception as exc:  # Pillow raises many types for bad headers
        raise DigitsError(f"{name}: not a readable image ({_reason(exc)})") from None
    _check_size(img.width, img.height, name, max_pixels)
    return img


def _register_heif() -> None:
    """pillow-heif's opener, registered on first use (importing it costs start-up time PNGs need not pay).

    One decoding thread (the server's reading threads and workers are the parallelism); the primary image
    only. pillow-heif applies the orientation when it opens a file and reports 1, so nothing turns twice.
    """
    if "HEIF" not in Image.OPEN:
        from pillow_heif import register_heif_opener

        register_heif_opener(decode_threads=1, thumbnails=False, depth_images=False, aux_images=False)


def _decode_bytes(data: bytes, name: str, max_side: int | None, max_pixels: int) -> GrayImage:
    img = open_header(data, name, max_pixels)
    with img:
        shape = (img.height, img.width)
        if img.format in ("PNG", "JPEG", "MPO") and img.mode in _CV_MODES and getattr(img, "n_frames", 1) == 1:
            pixels = _cv_decode(data, img, max_side)
            if pixels is not None:
                orientation = _orientation(img)
                if orientation in (5, 6, 7, 8):
                    shape = shape[::-1]
                return GrayImage(_orient(pixels, orientation), shape)
        gray = _pil_decode(img, name)  # also the path that explains a truncated or corrupt file
    return GrayImage(gray, gray.shape)


def _cv_decode(data: bytes, img: Image.Image, max_side: int | None) -> np.ndarray | None:
    """OpenCV's decoding of an 8-bit PNG or JPEG; ``None`` where Pillow should decide (truncated data)."""
    jpeg = img.format in ("JPEG", "MPO")
    if jpeg and not data.rstrip(b"\0").endswith(b"\xff\xd9"):
        return None  # truncated: libjpeg would fill the rest with gray; Pillow refuses it
    flags = _CV_MODES[img.mode]
    if jpeg and max_side:
        factor = max((f for f in _REDUCED if max(img.size) / f >= max_side), default=1)
        flags = _REDUCED.get(factor, flags)
    buffer = np.frombuffer(data, np.uint8)
    out = cv2.imdecode(buffer, flags | cv2.IMREAD_IGNORE_ORIENTATION if flags != cv2.IMREAD_UNCHANGED else flags)
    if out is None or out.dtype != np.uint8:
        return None
    if out.ndim == 2:
        return out.astype(np.float32) * np.float32(1 / 255)
    gray = cv2.cvtColor(out, cv2.COLOR_BGRA2GRAY if out.shape[2] == 4 else cv2.COLOR_BGR2GRAY).astype(np.float32)
    if out.shape[2] == 4 and out[..., 3].min() < 255:  # transparent pixels are white paper
        alpha = out[..., 3].astype(np.float32) * np.float32(1 / 255)
        gray = gray * alpha + 255 * (1 - alpha)
    return gray * np.float32(1 / 255)


def _orientation(img: Image.Image) -> int:
    """EXIF orientation from the header: a JPEG's APP1, or a PNG's eXIf chunk when it comes before the
    pixels (Pillow would decode the whole PNG to look for a later one)."""
    if img.format == "PNG" and "exif" not in img.info:
        return 1
    try:
        value = img.getexif().get(0x0112, 1)
    except Exception:  # a corrupt EXIF block must not lose the picture
        return 1
    return value if value in range(1, 9) else 1


def _orient(a: np.ndarray, orientation: int) -> np.ndarray:
    """Apply EXIF orientation 1-8 to an array, as Pillow's ``exif_transpose`` does."""
    ops = {
        2: lambda x: x[:, ::-1], 3: lambda x: x[::-1, ::-1], 4: lambda x: x[::-1],
        5: lambda x: x.T, 6: lambda x: np.rot90(x, -1), 7: lambda x: np.rot90(x, 2).T, 8: lambda x: np.rot90(x),
    }
    return np.ascontiguousarray(ops[orientation](a)) if orientation in ops else a


def _reason(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]


def _check_size(width: int, height: int, name: str, max_pixels: int = MAX_PIXELS) -> None:
    if width < 1 or height < 1:
        raise DigitsError(f"{name}: image has no pixels ({width}x{height})")
    if width * height > max_pixels or max(width, height) > MAX_SIDE:
        raise DigitsError(
            f"{name}: image too large ({width}x{height} pixels; limit {max_pixels:,} pixels, {MAX_SIDE} a side)"
        )


# ---------------------------------------------------------------- Pillow


def _pil_decode(img: Image.Image, name: str) -> np.ndarray:
    try:
        if getattr(img, "n_frames", 1) > 1:
            img.seek(0)  # animated or multi-page: the first frame, documented above
        img.load()
        return _pil_to_gray(img)
    except DigitsError:
        raise
    except Image.DecompressionBombError:
        raise DigitsError(f"{name}: image too large (decompression bomb refused)") from None
    except MemoryError:
        raise DigitsError(f"{name}: image too large to decode") from None
    except Exception as exc:  # truncated data, broken chunks, unsupported modes
        raise DigitsError(f"{name}: not a readable image ({_reason(exc)})") from None


def _pil_to_gray(img: Image.Image) -> np.ndarray:
    try:
        img = ImageOps.exif_transpose(img)
    except Exception:  # a corrupt EXIF block must not lose the picture
        pass
    mode = img.mode
    if mode.startswith("I;16") or mode in ("I", "F"):
        arr = np.asarray(img, dtype=np.float32)
        if mode.startswith("I;16"):
            top = 65535.0
        elif mode == "F":
            top = 1.0 if np.nanmax(arr) <= 1.0 else float(np.nanmax(arr))
        else:
            top = 255.0 if np.nanmax(arr) <= 255 else 65535.0
        return _finite(np.clip(arr / top, 0.0, 1.0))
    if mode in ("P", "PA"):
        img = img.convert("RGBA")
    elif mode in ("CMYK", "YCbCr", "LAB", "HSV"):
        img = img.convert("RGB")
    elif mode == "La":
        img = img.convert("LA")
    elif mode == "RGBa":
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA") and img.getchannel("A").getextrema()[0] < 255:  # opaque: alpha changes nothing
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, img.convert("RGBA"))
    return np.asarray(img.convert("L"), dtype=np.float32) / 255.0


# ---------------------------------------------------------------- arrays


def _finite(arr: np.ndarray) -> np.ndarray:
    return np.nan_to_num(arr, nan=0.0, posinf=1.0, neginf=0.0).astype(np.float32)


def _array_to_gray(arr: np.ndarray) -> np.ndarray:
    arr = np.asarray(arr)
    if arr.dtype == np.float32 and arr.ndim == 2 and arr.size:
        # already gray in [0, 1] (what load_image returns): used as is, not copied and clipped again;
        # NaN fails both comparisons and takes the cleaning path below
        if float(arr.min()) >= 0.0 and float(arr.max()) <= 1.0:
            _check_size(arr.shape[1], arr.shape[0], "image array")
            return arr
    if arr.dtype == bool:
        arr = arr.astype(np.float32)
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise DigitsError(f"expected a numeric image array, got dtype {arr.dtype}")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim == 3 and arr.shape[2] in (2, 3, 4):
        if arr.size == 0:
            raise DigitsError(f"image array has no pixels (shape {arr.shape})")
        _check_size(arr.shape[1], arr.shape[0], "image array")
        scale = 255.0 if arr.dtype == np.uint8 or np.nanmax(arr) > 1.0 else 1.0
        x = _finite(arr.astype(np.float32) / scale)
        if arr.shape[2] == 2:  # gray + alpha
            gray, alpha = x[..., 0], x[..., 1]
        else:
            gray = x[..., 0] * 0.299 + x[..., 1] * 0.587 + x[..., 2] * 0.114  # ITU-R 601, as Pillow's "L"
            alpha = x[..., 3] if arr.shape[2] == 4 else None
        if alpha is not None:  # transparent pixels are white paper
            gray = gray * alpha + (1.0 - alpha)
        return np.clip(gray, 0.0, 1.0).astype(np.float32)
    if arr.ndim != 2:
        raise DigitsError(f"expected a 2-D grayscale or HxWx3 image, got shape {arr.shape}")
    if arr.size == 0:
        raise DigitsError(f"image array has no pixels (shape {arr.shape})")
    _check_size(arr.shape[1], arr.shape[0], "image array")
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / 255.0
    if arr.dtype == np.uint16:
        return arr.astype(np.float32) / 65535.0
    x = _finite(arr.astype(np.float32))
    top = float(x.max())
    return np.clip(x / 255.0 if top > 1.0 else x, 0.0, 1.0)
