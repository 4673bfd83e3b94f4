"""IDX files (LeCun's MNIST format), gzip-compressed or raw."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from handwritten_digits.errors import DigitsError

# type code -> numpy dtype (IDX stores multi-byte values big-endian)
DTYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
          0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def read_bytes(path: str | Path) -> bytes:
    """The file's decompressed bytes (gzip is detected by its magic, not the file name)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DigitsError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise DigitsError(f"{path}: corrupt or truncated gzip data ({exc})") from None
    return raw


def parse(data: bytes, name: str = "IDX data") -> np.ndarray:
    """Parse IDX bytes into an array, validating magic number, dimensions and length."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise DigitsError(f"{name}: not an IDX file (bad magic number)")
    code, ndim = data[2], data[3]
    if code not in DTYPES:
        raise DigitsError(f"{name}: unknown IDX type code 0x{code:02x}")
    if ndim == 0 or len(data) < 4 + 4 * ndim:
        raise DigitsError(f"{name}: truncated IDX header")
    shape = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    dtype = DTYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    body = memoryview(data)[4 + 4 * ndim :]
    if len(body) != expected:
        kind = "truncated" if len(body) < expected else "has trailing bytes"
        raise DigitsError(f"{name}: {kind} (expected {expected} data bytes for shape {shape}, found {len(body)})")
    arr = np.frombuffer(body, dtype=dtype).reshape(shape)
    return arr.astype(dtype.newbyteorder("="), copy=False) if dtype.itemsize > 1 else arr


def read_idx(path: str | Path) -> np.ndarray:
    return parse(read_bytes(path), name=str(path))


def encode(arr: np.ndarray) -> bytes:
    """IDX bytes for ``arr`` (uint8, int8, int16, int32, float32 or float64)."""
    arr = np.asarray(arr)
    big = arr.dtype.newbyteorder(">") if arr.dtype.itemsize > 1 else arr.dtype
    codes = {np.dtype(k).str: v for k, v in [("u1", 0x08), ("i1", 0x09), (">i2", 0x0B), (">i4", 0x0C), (">f4", 0x0D), (">f8", 0x0E)]}
    if big.str not in codes:
        raise DigitsError(f"IDX cannot store dtype {arr.dtype}")
    header = bytes([0, 0, codes[big.str], arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return header + arr.astype(big, copy=False).tobytes()


def write_idx(path: str | Path, arr: np.ndarray, compress: bool | None = None) -> Path:
    """Write ``arr`` as IDX, gzip-compressed when ``compress`` (default: the name ends in .gz)."""
    from handwritten_digits.fileio import atomic_write_bytes

    path = Path(path)
    data = encode(arr)
    if compress if compress is not None else path.suffix == ".gz":
        data = gzip.compress(data, compresslevel=6, mtime=0)
    return atomic_write_bytes(path, data)
