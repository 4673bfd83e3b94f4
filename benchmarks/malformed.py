"""Malformed image files for the reliability benchmark: about a thousand broken files made from the bundled
samples (truncations, bit flips, swapped headers, zero bytes, decompression-bomb headers, wrong extensions,
an EPS named .png, a FIFO, a directory named .png ...). Deterministic for a seed."""

from __future__ import annotations

import os
import random
from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[1] / "src" / "handwritten_digits" / "assets" / "samples"

# the kinds of malformed file :func:`malformed_files` makes (test_bench_reliability checks each appears)
KINDS = ("truncated", "bit_flip", "byte_garbage", "swapped_header", "zero_bytes", "empty", "bomb_header",
         "wrong_extension", "eps_as_png", "text_as_image", "fifo", "directory", "symlink_loop", "header_only")


# ---------------------------------------------------------------- malformed files


def _samples(folder: Path = SAMPLES) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    import struct
    import zlib

    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def bomb_png(width: int, height: int) -> bytes:
    """A valid PNG header declaring ``width`` x ``height`` pixels, with a tiny (bogus) image stream."""
    import struct
    import zlib

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", zlib.compress(b"\0" * 1024))
            + _png_chunk(b"IEND", b""))


def bomb_gif(width: int, height: int) -> bytes:
    import struct

    return b"GIF89a" + struct.pack("<HH", width, height) + b"\x00\x00\x00" + b";"


def bomb_bmp(width: int, height: int) -> bytes:
    import struct

    header = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 0, 0, 0, 0)
    return b"BM" + struct.pack("<IHHI", 54 + 64, 0, 0, 54) + header + b"\0" * 64


EPS = (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 28 28\nnewpath 4 4 moveto 24 24 lineto stroke\nshowpage\n"
       b"%%EOF\n")


def malformed_files(folder: Path, count: int = 1000, seed: int = 0, special: bool = True) -> dict[str, str]:
    """Write about ``count`` malformed image files into ``folder``; returns {file name: kind}.

    Built from the bundled samples: truncations at many offsets, single and multiple bit flips, runs of
    garbage bytes, swapped headers (a PNG named .jpg ...), all-zero files, empty files, headers alone,
    decompression-bomb headers (PNG/GIF/BMP declaring huge sizes), wrong extensions (.webp, .tif),
    an EPS and a text file named as images; with ``special``, a FIFO, a directory named .png and a
    symlink loop (things that are not files at all).
    """
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    samples = _samples()
    names = list(samples)
    kinds: dict[str, str] = {}

    def put(kind: str, suffix: str, data: bytes) -> None:
        name = f"{len(kinds):04d}-{kind}{suffix}"
        (folder / name).write_bytes(data)
        kinds[name] = kind

    def suffix_of(name: str) -> str:
        return Path(name).suffix

    # fixed kinds first, a handful each
    for name, data in samples.items():
        other = ".jpg" if suffix_of(name) == ".png" else ".png"
        put("swapped_header", other, data)
        put("wrong_extension", rng.choice([".webp", ".tif", ".gif", ".bmp"]), data)
        put("header_only", suffix_of(name), data[:8 if suffix_of(name) == ".png" else 4])
    for size in (1, 28, 1024, 65536):
        put("zero_bytes", rng.choice([".png", ".jpg"]), b"\0" * size)
    put("empty", ".png", b"")
    put("empty", ".jpg", b"")
    for w, h in ((100_000, 100_000), (65_535, 65_535), (2**31 - 1, 1), (1, 2**31 - 1), (50_000, 50_000)):
        put("bomb_header", ".png", bomb_png(w, h))
    put("bomb_header", ".gif", bomb_gif(65_535, 65_535))
    put("bomb_header", ".bmp", bomb_bmp(100_000, 100_000))
    put("eps_as_png", ".png", EPS)
    put("eps_as_png", ".jpg", EPS)
    put("text_as_image", ".png", b"this is not an image\n" * 10)
    put("text_as_image", ".jpg", "digits \u00e9\u00e8 \U0001F600\n".encode())
    if special:
        fifo = folder / f"{len(kinds):04d}-fifo.png"
        os.mkfifo(fifo)
        kinds[fifo.name] = "fifo"
        directory = folder / f"{len(kinds):04d}-directory.png"
        directory.mkdir()
        kinds[directory.name] = "directory"
        loop = folder / f"{len(kinds):04d}-symlink_loop.png"
        loop.symlink_to(loop.name)
        kinds[loop.name] = "symlink_loop"
    # the bulk: random damage to the samples, spread evenly over three kinds
    bulk = ("truncated", "bit_flip", "byte_garbage")
    i = 0
    while len(kinds) < count:
        kind = bulk[i % 3]
        name = names[(i // 3) % len(names)]
        data = bytearray(samples[name])
        if kind == "truncated":
            cut = rng.randrange(1, len(data))  # never the whole file
            out = bytes(data[:cut])
        elif kind == "bit_flip":
            for _ in range(rng.choice([1, 1, 2, 4, 16])):
                pos = rng.randrange(len(data))
                data[pos] ^= 1 << rng.randrange(8)
            out = bytes(data)
        else:
            start = rng.randrange(len(data))
            length = rng.randint(1, 64)
            data[start:start + length] = bytes(rng.randrange(256) for _ in range(length))
            out = bytes(data)
        put(kind, suffix_of(name), out)
        i += 1
    return kinds
