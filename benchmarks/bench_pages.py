"""Reading whole pages: the layout's lines and numbers, and the text the reader reads, on generated pages.

Pages come from :mod:`handwritten_digits.data.pages` built from MNIST **test** digits (never used for
training or tuning), seeded: 1-8 lines of 1-4 numbers, or grids, on plain, ruled, squared and note
paper with slant, shadows, show-through, perspective, blur, noise and JPEG. Each page is read by the
reader (``Reader.read``, the served model, one thread) and scored by :mod:`benchmarks.scoring`, as
``bench_peers`` scores RapidOCR and Tesseract on the same pages:

* ``reading``: line exact (truth lines read exactly, at their position), page exact, character
  accuracy, and the time to read a page;
* ``alone``: whom a wrong line is down to. Each digit is also read *alone*, as the 28x28 MNIST image the
  page drew it from: lines holding a digit the model misreads there (and how many of them the reader
  reads right anyway, the page drawing the digit otherwise), and the wrong lines holding none (the page
  cost them: ink, layout, cuts);
* ``accuracy`` (the layout alone, ``find_ink`` + ``layout``): ``lines`` (the number of lines is right),
  ``numbers`` (and the count of numbers on every line), ``boxes`` (and every number's box matches the
  truth's, IoU >= 0.5).

With ``--realdev``, the real photos too: exact by kind (single, number, multi), digits only, and
character accuracy (report only: never tuned on). Results go to ``benchmarks/results/pages.json``.
Run under ``nice -n 10`` on a shared machine.

    python -m benchmarks.bench_pages              # 200 pages
    python -m benchmarks.bench_pages --pages 20   # a quick check
    python -m benchmarks.bench_pages --realdev ../shared/data/realdev   # and the real photos (report only)
    python -m benchmarks.bench_pages --turn 15 --out benchmarks/results/pages-turned.json   # photos turned 15 degrees
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results" / "pages.json"
MODEL = "default-int8"  # what the server serves


def score(found, truth, inkmap) -> dict:
    """Compare a :class:`Layout` with a :class:`PageTruth` (boxes mapped to image pixels)."""
    from handwritten_digits.reading.segment import to_input_box
    from handwritten_digits.results import iou

    counts = [len(line.numbers) for line in found.lines]
    want = [len(line) for line in truth.lines]
    lines_ok = len(counts) == len(want)
    numbers_ok = counts == want
    boxes_ok = numbers_ok and all(
        iou(to_input_box(region.box, inkmap), box) >= 0.5
        for line, boxes in zip(found.lines, truth.boxes) for region, box in zip(line.numbers, boxes))
    return {"lines": lines_ok, "numbers": numbers_ok, "boxes": boxes_ok, "found": counts, "want": want}


def run(pages: int, seed: int, data_dir=None, split: str = "test", verbose: bool = False, model: str = MODEL,
        turn: float = 0.0) -> dict:
    from tqdm import tqdm

    from benchmarks.scoring import median_ms, score_rows, summarize_pages
    from handwritten_digits.data import load_dataset
    from handwritten_digits.data.pages import make_page
    from handwritten_digits.reading.decode import decode
    from handwritten_digits.reading.ink import find_ink
    from handwritten_digits.reading.layout import layout
    from handwritten_digits.reading.reader import Reader

    reader = Reader.load(model, threads=1)
    rows, ink_times, layout_times, kinds, items, readings, truths = [], [], [], {}, [], {}, []
    # the pages of iter_pages(pages, seed), turned (the turn draws nothing from the generator)
    digits, rng = load_dataset(split, data_dir), np.random.default_rng(seed)
    pages_made = (make_page(rng, digits, turn=turn * (-1) ** k) for k in range(pages))
    for k, (image, truth) in enumerate(tqdm(pages_made, total=pages, desc="pages", file=sys.stderr)):
        start = time.perf_counter()
        text = reader.read(image).text
        readings[str(k)] = {"text": text, "ms": round((time.perf_counter() - start) * 1000, 1)}
        items.append({"id": f"page-{k:03d}", "kind": truth.kind, "label": truth.label, "path": str(k)})
        truths.append(truth)
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
        kinds.setdefault(truth.kind, []).append(row)
        if verbose and not row["numbers"]:
            print(f"page {k} ({truth.kind}): found {row['found']} want {row['want']}", file=sys.stderr)

    def rates(group: list[dict]) -> dict:
        return {"pages": len(group), **{key: round(float(np.mean([r[key] for r in group])), 4)
                                        for key in ("lines", "numbers", "boxes")}}

    lt = np.array(layout_times) * 1000
    read_rows = score_rows(items, readings)
    reading = summarize_pages(read_rows)
    ms = np.array([r["ms"] for r in read_rows])
    reading["ms_median"] = median_ms(read_rows)
    reading["ms_per_page"] = {"mean": round(float(ms.mean()), 1), "median": reading["ms_median"],
                              "p95": round(float(np.percentile(ms, 95)), 1), "max": round(float(ms.max()), 1)}
    reading["wrong"] = [{k: r[k] for k in ("id", "kind", "text")} | {"label": i["label"]}
                        for r, i in zip(read_rows, items) if not r["exact"]][:40]
    return {
        "pages": pages, "seed": seed, "digits": f"MNIST {split}", "model": model, "turn": turn,
        "reading": reading,
        "alone": alone(reader, digits, truths, [readings[str(k)]["text"] for k in range(pages)]),
        "accuracy": rates(rows),
        "by_kind": {kind: rates(group) for kind, group in sorted(kinds.items())},
        "layout_ms": {"mean": round(float(lt.mean()), 2), "median": round(float(np.median(lt)), 2),
                      "p95": round(float(np.percentile(lt, 95)), 2), "max": round(float(lt.max()), 2)},
        "find_ink_ms_mean": round(float(np.mean(ink_times) * 1000), 2),
        "failures": [r for r in rows if not r["numbers"]][:50],
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
    }


def alone(reader, digits, truths: list, texts: list[str]) -> dict:
    """Wrong lines split by whom they are down to: the model (a digit it misreads alone, as its 28x28 MNIST
    image) or the page (every digit read right alone); ``texts``: what the reader read on each page. Lines
    and pages are right as the benchmark scores them (:func:`benchmarks.scoring.lines_read`, exact text)."""
    from benchmarks.scoring import expected, lines_read

    right = reader.recognizer.predict_proba(digits[0].astype(np.float32))[:, :10].argmax(axis=1) == digits[1]
    out = dict.fromkeys(("lines", "lines_misread_alone", "of_them_read_right", "lines_wrong_otherwise",
                         "pages", "pages_misread_alone", "of_them_pages_read_right"), 0)
    for truth, text in zip(truths, texts):
        page_alone = False
        for mine, line_read in zip(truth.line_sources, lines_read(text, truth.label)):
            line_alone = all(right[k] for k in mine)
            out["lines"] += 1
            out["lines_misread_alone"] += not line_alone
            out["of_them_read_right"] += line_read and not line_alone
            out["lines_wrong_otherwise"] += line_alone and not line_read
            page_alone = page_alone or not line_alone
        out["pages"] += 1
        out["pages_misread_alone"] += page_alone
        out["of_them_pages_read_right"] += page_alone and text == expected(truth.label)
    return {"digit_accuracy": round(float(right.mean()), 4)} | out


def realdev(folder, model: str = MODEL) -> dict:
    """Report only (never tune on it): the real photos read and scored as ``bench_peers`` scores its
    peers (exact by kind, digits only, character accuracy), and how many get the right number of lines
    and of numbers on each line (``labels.csv``: lines separated by `` | ``, numbers by spaces)."""
    from benchmarks.scoring import median_ms, realdev_items, score_rows, summarize_realdev
    from handwritten_digits.reading.reader import Reader

    reader = Reader.load(model, threads=1)
    items, readings, layout_ok = realdev_items(Path(folder)), {}, []
    for item in items:
        start = time.perf_counter()
        result = reader.read(item["path"])
        readings[item["path"]] = {"text": result.text, "ms": round((time.perf_counter() - start) * 1000, 1)}
        want = [len(line.split()) for line in item["label"].split(" | ")]
        layout_ok.append([len(line.numbers) for line in result.lines] == want)
    rows = score_rows(items, readings)
    out = summarize_realdev(rows)
    out["numbers_per_line_right"] = int(sum(layout_ok))
    out["ms_median"] = median_ms(rows)
    out["readings"] = [{k: r[k] for k in ("id", "kind", "text", "exact", "ms")} for r in rows]
    return out


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
    parser.add_argument("--model", default=MODEL, help="bundled name, .onnx file or folder")
    parser.add_argument("--verbose", action="store_true", help="print each page whose numbers are wrong")
    parser.add_argument("--turn", type=float, default=0.0,
                        help="photograph every sheet turned this many degrees, printed lines and all (every other page the other way)")
    parser.add_argument("--realdev", default=None, help="also report on the real photos in this folder (labels.csv)")
    args = parser.parse_args(argv)
    from handwritten_digits.fileio import atomic_write_json

    result = run(args.pages, args.seed, args.data_dir, args.split, args.verbose, args.model, args.turn)
    if args.realdev:
        result["realdev"] = realdev(args.realdev, args.model)
    atomic_write_json(args.out, result)
    read = result["reading"]
    print(f"reading: line exact {read['line_exact']:.1%}, page exact {read['page_exact']:.1%}, "
          f"char accuracy {read['char_accuracy']:.1%}; {read['ms_per_page']['median']:.0f} ms/page median")
    for kind, r in read["by_kind"].items():
        print(f"  {kind:8s} {r['pages']:4d} pages: line exact {r['line_exact']:.1%}, page exact {r['page_exact']:.1%}")
    a = result["alone"]
    print(f"{a['lines_misread_alone']} lines hold a digit misread alone ({a['of_them_read_right']} read right anyway), "
          f"{a['lines_wrong_otherwise']} wrong lines hold none; {a['pages_misread_alone']} pages hold one")
    acc = result["accuracy"]
    print(f"{result['pages']} pages: lines {acc['lines']:.1%}, numbers {acc['numbers']:.1%}, boxes {acc['boxes']:.1%}; "
          f"layout {result['layout_ms']['mean']:.1f} ms/page (find_ink {result['find_ink_ms_mean']:.1f} ms)")
    for kind, r in result["by_kind"].items():
        print(f"  {kind:8s} {r['pages']:4d} pages: lines {r['lines']:.1%}, numbers {r['numbers']:.1%}, boxes {r['boxes']:.1%}")
    if args.realdev:
        real = result["realdev"]
        kinds = ", ".join(f"{k} {v['exact']}/{v['images']}" for k, v in real["by_kind"].items())
        print(f"realdev: exact {kinds}; digits only {real['all']['exact_digits']}/{real['all']['images']}; "
              f"char accuracy {real['all']['char_accuracy']:.1%}; numbers on every line right {real['numbers_per_line_right']}")
    print(f"results: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
