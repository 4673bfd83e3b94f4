"""Bad input never crashes: a one-line DigitsError or an empty result, through the API and the CLI."""

from __future__ import annotations

import io
import struct
import time
import zlib

import numpy as np
import pytest
from PIL import Image

from handwritten_digits.cli import main
from handwritten_digits.errors import DigitsError
from handwritten_digits.reading.decode import load_image
from handwritten_digits.reading.normalize import extract_digits, prepare_single


def png_bytes(img: Image.Image) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, format="PNG")
    return buffer.getvalue()


def huge_png(width=100_000, height=100_000) -> bytes:
    """A valid PNG header claiming ``width`` x ``height`` pixels, with almost no data behind it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grayscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def digit_png(value=0) -> bytes:
    img = np.full((60, 40), 255, np.uint8)
    img[10:50, 18:23] = value  # a "1"
    return png_bytes(Image.fromarray(img))


def animated_gif() -> bytes:
    frames = []
    for x in (8, 20):
        img = np.full((60, 40), 255, np.uint8)
        img[10:50, x : x + 5] = 0
        frames.append(Image.fromarray(img).convert("P"))
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buffer.getvalue()


def multipage_tiff() -> bytes:
    pages = [Image.fromarray(np.full((60, 40), v, np.uint8)) for v in (255, 0)]
    buffer = io.BytesIO()
    pages[0].save(buffer, format="TIFF", save_all=True, append_images=pages[1:])
    return buffer.getvalue()


BAD = {
    "not-an-image.png": b"this is a text file, not a picture\n",
    "empty.png": b"",
    "truncated.png": digit_png()[: len(digit_png()) // 2],
    "huge.png": huge_png(),
    "garbage.jpg": b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4,
}
EMPTY = {  # readable images with nothing to read: an empty result, not an error
    "one-pixel.png": png_bytes(Image.new("L", (1, 1), 0)),
    "all-black.png": png_bytes(Image.new("L", (64, 64), 0)),
    "all-white.png": png_bytes(Image.new("RGB", (64, 64), (255, 255, 255))),
    "transparent.png": png_bytes(Image.new("RGBA", (64, 64), (0, 0, 0, 0))),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_files_raise_one_line_errors(name):
    with pytest.raises(DigitsError) as info:
        extract_digits(BAD[name])
    message = str(info.value)
    assert message and "\n" not in message


def test_huge_header_refused_before_decoding():
    data = huge_png()
    start = time.perf_counter()
    with pytest.raises(DigitsError, match="too large"):
        load_image(data)
    assert time.perf_counter() - start < 0.5  # nothing was decoded or allocated


def test_huge_pil_image_and_array_refused():
    with pytest.raises(DigitsError, match="too large"):
        load_image(np.zeros((1, 40_000), np.uint8))


@pytest.mark.parametrize("name", sorted(EMPTY))
def test_images_without_ink_give_no_digit(reader, name):
    assert reader.read(EMPTY[name]).digits == []
    assert reader.classify(EMPTY[name]) is None


def test_animated_gif_reads_first_frame_only():
    first = load_image(animated_gif())
    assert first.shape == (60, 40)
    assert first[30, 10] < 0.5 and first[30, 22] > 0.5  # the first frame's stroke, not the second's
    assert len(extract_digits(animated_gif())) == 1


def test_multipage_tiff_reads_first_page_only():
    assert prepare_single(multipage_tiff()) is None  # page 1 is white paper; page 2 (black) is ignored


@pytest.mark.parametrize(
    "source",
    [np.zeros((0, 5)), np.zeros((4, 4, 4, 4)), np.array([["a"]]), np.full((30, 30), np.nan), 12345, None],
)
def test_odd_arrays_and_objects(source):
    try:
        assert extract_digits(source) == []
    except DigitsError as exc:
        assert "\n" not in str(exc)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(DigitsError, match="cannot read"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(DigitsError, match="folder"):
        load_image(tmp_path)


def test_cli_batch_with_bad_files_keeps_going(tmp_path, capsys):
    for name, data in {**BAD, **EMPTY}.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "good.png").write_bytes(digit_png())
    code = main(["predict", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in out + err
    errors = [line for line in err.splitlines() if line.startswith("digits: error:")]
    assert len(errors) == len(BAD) == len(err.splitlines())  # one line per bad file
    assert f"{tmp_path / 'good.png'}: 1" in out
    for name in EMPTY:
        assert f"{tmp_path / name}: (no digit found)" in out


def test_cli_json_error_field(tmp_path, capsys):
    import json

    (tmp_path / "bad.png").write_bytes(b"nope")
    (tmp_path / "good.png").write_bytes(digit_png())
    code = main(["predict", "--json", str(tmp_path / "bad.png"), str(tmp_path / "good.png"), str(tmp_path / "missing.png")])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 1
    assert [("error" in d) for d in lines] == [True, False, True]
    assert lines[1]["text"] == "1"


def test_cli_all_good_exit_zero(tmp_path, capsys):
    (tmp_path / "white.png").write_bytes(EMPTY["all-white.png"])
    assert main(["predict", str(tmp_path / "white.png")]) == 0
    assert "(no digit found)" in capsys.readouterr().out


def test_special_files_are_refused_without_blocking(tmp_path):
    """A FIFO named .png would block a reader forever: it is refused before it is opened."""
    import os

    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    start = time.perf_counter()
    with pytest.raises(DigitsError, match="not a regular file"):
        load_image(fifo)
    assert time.perf_counter() - start < 1


def test_the_cli_reads_the_servers_formats_only(tmp_path):
    """An EPS file named .png never reaches Ghostscript: the CLI keeps to the server's list of formats."""
    from handwritten_digits.reading.decode import FORMATS

    eps = tmp_path / "drawing.png"
    eps.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n")
    with pytest.raises(DigitsError, match="not an image"):
        load_image(eps)
    assert "EPS" not in FORMATS and {"PNG", "JPEG"} <= set(FORMATS)
