"""Two photo situations the page generator does not draw: notes on a dark desk, numbers cropped tight.

    python -m benchmarks.bench_photo_cases          # -> results/photo-cases.json

* **Notes on a dark desk**: generated note pages (no perspective, no shadow) padded all round by 15% of
  their longer side in the desk's gray, then turned (every other page the other way): lines right, as
  the page benchmark scores them. The desk around the sheet pulls the page-wide light towards light ink
  on dark paper.
* **Numbers cropped tight**: photo-like numbers (``synthetic.make_numbers``) read whole, then cut out
  ``margin`` pixels around the digits read and read again: how many crops read as the label. Ink that
  fills a crop leaves little paper to measure the background and the noise by.

Development figures: MNIST *validation* digits, which the reading was developed against.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

import cv2
import numpy as np

from benchmarks.scoring import expected, line_matches

RESULTS = Path(__file__).parent / "results" / "photo-cases.json"
MODEL = "default-int8"  # the server's default


def on_a_desk(image, gray: int, pad: float, degrees: float) -> np.ndarray:
    """``image`` (RGB or gray) on a desk of ``gray`` showing ``pad`` of its longer side all round, turned."""
    a = np.asarray(image)
    a = a if a.ndim == 3 else cv2.cvtColor(a, cv2.COLOR_GRAY2RGB)
    side = int(pad * max(a.shape[:2]))
    desk = (gray, gray, gray)
    big = cv2.copyMakeBorder(a, side, side, side, side, cv2.BORDER_CONSTANT, value=desk)
    h, w = big.shape[:2]
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(big, turn, (w, h), flags=cv2.INTER_LINEAR, borderValue=desk)


def desk_notes(read, digits, pages: int, seed: int, degrees: float, gray: int = 60, pad: float = 0.15) -> dict:
    """Lines right on ``pages`` note pages on a desk, turned ``degrees`` (every other page the other way)."""
    from handwritten_digits.data.pages import make_page

    rng = np.random.default_rng(seed)
    right = lines = exact = 0
    for k in range(pages):
        image, truth = make_page(rng, digits, paper="note", perspective=False, shadow=False)
        text = read(on_a_desk(image, gray, pad, degrees * (-1) ** k)).text
        got, want = line_matches(text, truth.label)
        right, lines, exact = right + got, lines + want, exact + (text == expected(truth.label))
    return {"pages": pages, "lines": lines, "lines_right": right, "pages_exact": exact}


def tight_crops(read, digits, count: int, seed: int, margins) -> dict:
    """Numbers read whole, then cropped ``margin`` px around the digits read: crops read as the label."""
    from handwritten_digits.synthetic import make_numbers

    whole = cropped = 0
    out = {str(m): {"right": 0, "blank": 0} for m in margins}
    for sample in make_numbers(count, seed=seed, digits=digits):
        image = np.asarray(sample.image)
        found = read(image)
        if not found.digits:
            continue
        boxes = np.array([d.box for d in found.digits])
        x0, y0, x1, y1 = boxes[:, 0].min(), boxes[:, 1].min(), boxes[:, 2].max(), boxes[:, 3].max()
        if min(x1 - x0, y1 - y0) < 8:
            continue
        cropped += 1
        whole += found.text == sample.label
        for m in margins:
            crop = np.ascontiguousarray(image[max(0, y0 - m) : y1 + m, max(0, x0 - m) : x1 + m])
            text = read(crop).text
            out[str(m)]["right"] += text == sample.label
            out[str(m)]["blank"] += text == ""
    return {"numbers": cropped, "right_uncropped": whole, "by_margin": out}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--pages", type=int, default=20, help="note pages on a desk, per turn")
    p.add_argument("--seed", type=int, default=4, help="random seed of the note pages")
    p.add_argument("--turns", type=float, nargs="+", default=[0.0, 10.0], help="degrees the notes are turned")
    p.add_argument("--desk", type=int, default=60, help="the desk's gray level (0-255)")
    p.add_argument("--numbers", type=int, default=200, help="photo-like numbers cropped tight")
    p.add_argument("--crop-seed", type=int, default=3, help="random seed of the numbers")
    p.add_argument("--margins", type=int, nargs="+", default=[0, 2, 5], help="pixels kept around the digits read")
    p.add_argument("--model", default=MODEL, help="bundled name, .onnx file or folder")
    p.add_argument("--data-dir", default=None, help="MNIST folder; unset: $DIGITS_DATA_DIR")
    p.add_argument("--out", default=str(RESULTS), help="results JSON")
    p.add_argument("--quick", action="store_true", help="a smoke run: 2 pages per turn and 10 numbers")
    args = p.parse_args(argv)
    if args.quick:
        args.pages, args.numbers = 2, 10

    from handwritten_digits.data import load_dataset
    from handwritten_digits.fileio import atomic_write_json
    from handwritten_digits.reading.reader import Reader

    reader = Reader.load(args.model, threads=1)
    digits = load_dataset("val", args.data_dir)
    notes = {str(t): desk_notes(reader.read, digits, args.pages, args.seed, t, args.desk) for t in args.turns}
    for t, r in notes.items():
        print(f"notes on a desk, turned {t} degrees: lines {r['lines_right']}/{r['lines']}, pages {r['pages_exact']}/{r['pages']}",
              file=sys.stderr)
    crops = tight_crops(reader.read, digits, args.numbers, args.crop_seed, args.margins)
    for m, r in crops["by_margin"].items():
        print(f"numbers cropped {m} px around: {r['right']}/{crops['numbers']} read as the label "
              f"({crops['right_uncropped']} uncropped), {r['blank']} read blank", file=sys.stderr)
    result = {"benchmark": "bench_photo_cases", "command": "python -m benchmarks.bench_photo_cases " + " ".join(argv or sys.argv[1:]),
              "model": args.model, "digits": "MNIST val",
              "desk": {"gray": args.desk, "pad": 0.15, "seed": args.seed, "by_turn": notes},
              "crops": {"seed": args.crop_seed, **crops},
              "machine": {"python": platform.python_version(), "platform": platform.platform()}}
    atomic_write_json(args.out, result)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
