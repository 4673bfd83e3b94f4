"""Page layout: how often :func:`handwritten_digits.reading.layout.layout` finds a page's lines and numbers.

Pages come from :mod:`handwritten_digits.data.pages` built from MNIST **test** digits (never used for
training or tuning), seeded: 1-8 lines of 1-4 numbers, or grids, on plain, ruled, squared and note
paper with slant, shadows, show-through, perspective, blur, noise and JPEG. Each page is decoded,
``find_ink`` and ``layout`` run on it, and the result compared with the page's truth:

* ``lines``: the number of lines is right;
* ``numbers``: the number of lines and the count of numbers on every line are right;
* ``boxes``: as ``numbers``, and every number's box matches the truth's (IoU >= 0.5), line by line.

Reading the digits is not wired in yet. Results go to ``benchmarks/results/pages.json``. Run under
``nice -n 10`` on a shared machine.

    python -m benchmarks.bench_pages              # 200 pages
    python -m benchmarks.bench_pages --pages 20   # a quick check
    python -m benchmarks.bench_pages --realdev ../shared/data/realdev   # and the real photos (report only)
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results" / "pages.json"


def iou(a, b) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def score(found, truth, inkmap) -> dict:
    """Compare a :class:`Layout` with a :class:`PageTruth` (boxes mapped to image pixels)."""
    from handwritten_digits.reading.segment import to_input_box

    counts = [len(line.numbers) for line in found.lines]
    want = [len(line) for line in truth.lines]
    lines_ok = len(counts) == len(want)
    numbers_ok = counts == want
    boxes_ok = numbers_ok and all(
        iou(to_input_box(region.box, inkmap), box) >= 0.5
        for line, boxes in zip(found.lines, truth.boxes) for region, box in zip(line.numbers, boxes))
    return {"lines": lines_ok, "numbers": numbers_ok, "boxes": boxes_ok, "found": counts, "want": want}


def run(pages: int, seed: int, data_dir=None, split: str = "test", verbose: bool = False) -> dict:
    from handwritten_digits.data import load_dataset
    from handwritten_digits.data.pages import make_page
    from handwritten_digits.reading.decode import decode
    from handwritten_digits.reading.ink import find_ink
    from handwritten_digits.reading.layout import layout

    digits = load_dataset(split, data_dir)
    rng = np.random.default_rng(seed)
    rows, ink_times, layout_times, kinds = [], [], [], {}
    for k in range(pages):
        image, truth = make_page(rng, digits)
        t0 = time.perf_counter()
        inkmap = find_ink(decode(image))
        t1 = time.perf_counter()
        found = layout(inkmap)
        t2 = time.perf_counter()
        ink_times.append(t1 - t0)
        layout_times.append(t2 - t1)
        row = score(found, truth, found.inkmap)
        row.update(page=k, paper=truth.paper, grid=truth.grid, shape=list(image.shape), removed=found.removed)
        rows.append(row)
        kind = "grid" if truth.grid else truth.paper
        kinds.setdefault(kind, []).append(row)
        if verbose and not row["numbers"]:
            print(f"page {k} ({kind}): found {row['found']} want {row['want']}", file=sys.stderr)

    def rates(group: list[dict]) -> dict:
        return {"pages": len(group), **{key: round(float(np.mean([r[key] for r in group])), 4)
                                        for key in ("lines", "numbers", "boxes")}}

    lt = np.array(layout_times) * 1000
    return {
        "pages": pages, "seed": seed, "digits": f"MNIST {split}",
        "accuracy": rates(rows),
        "by_kind": {kind: rates(group) for kind, group in sorted(kinds.items())},
        "layout_ms": {"mean": round(float(lt.mean()), 2), "median": round(float(np.median(lt)), 2),
                      "p95": round(float(np.percentile(lt, 95)), 2), "max": round(float(lt.max()), 2)},
        "find_ink_ms_mean": round(float(np.mean(ink_times) * 1000), 2),
        "failures": [r for r in rows if not r["numbers"]][:50],
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
    }


def realdev(folder) -> dict:
    """Report only (never tune on it): how many real photos get the right number of lines, and of numbers
    on each line, from ``labels.csv`` (lines separated by `` | ``, numbers by spaces)."""
    import csv

    from handwritten_digits.reading.decode import decode
    from handwritten_digits.reading.ink import WORK_SIDE, find_ink
    from handwritten_digits.reading.layout import layout

    folder = Path(folder)
    rows = []
    with open(folder / "labels.csv", newline="") as f:
        for row in csv.DictReader(f):
            want = [len(line.split()) for line in row["label"].split(" | ")]
            found = layout(find_ink(decode(folder / row["file"], max_side=WORK_SIDE)))
            got = [len(line.numbers) for line in found.lines]
            rows.append({"file": row["file"], "kind": row["kind"], "lines": len(got) == len(want),
                         "numbers": got == want, "found": got, "want": want})
    kinds = sorted({r["kind"] for r in rows})
    return {"images": len(rows), "lines": sum(r["lines"] for r in rows), "numbers": sum(r["numbers"] for r in rows),
            "by_kind": {k: {"images": sum(r["kind"] == k for r in rows), "lines": sum(r["lines"] for r in rows if r["kind"] == k),
                            "numbers": sum(r["numbers"] for r in rows if r["kind"] == k)} for k in kinds},
            "wrong": [r for r in rows if not r["numbers"]]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--pages", type=int, default=200, help="pages to generate")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the pages")
    parser.add_argument("--data-dir", default=None, help="MNIST folder; unset: $DIGITS_DATA_DIR")
    parser.add_argument("--split", default="test", choices=["test", "val"],
                        help="MNIST digits to draw pages from (test: the benchmark; val: development)")
    parser.add_argument("--out", default=str(RESULTS.relative_to(Path.cwd())) if RESULTS.is_relative_to(Path.cwd()) else str(RESULTS),
                        help="JSON results file")
    parser.add_argument("--verbose", action="store_true", help="print each page whose numbers are wrong")
    parser.add_argument("--realdev", default=None, help="also report on the real photos in this folder (labels.csv)")
    args = parser.parse_args(argv)
    from handwritten_digits.fileio import atomic_write_json

    result = run(args.pages, args.seed, args.data_dir, args.split, args.verbose)
    if args.realdev:
        result["realdev"] = realdev(args.realdev)
    atomic_write_json(args.out, result)
    acc = result["accuracy"]
    print(f"{result['pages']} pages: lines {acc['lines']:.1%}, numbers {acc['numbers']:.1%}, boxes {acc['boxes']:.1%}; "
          f"layout {result['layout_ms']['mean']:.1f} ms/page (find_ink {result['find_ink_ms_mean']:.1f} ms)")
    for kind, r in result["by_kind"].items():
        print(f"  {kind:8s} {r['pages']:4d} pages: lines {r['lines']:.1%}, numbers {r['numbers']:.1%}, boxes {r['boxes']:.1%}")
    if args.realdev:
        real = result["realdev"]
        print(f"realdev: {real['images']} images, lines right {real['lines']}, numbers on every line right {real['numbers']}")
    print(f"results: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
