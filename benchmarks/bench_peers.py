"""Peers on whole pages (issue 14): general OCR engines read the same images as our reader, scored alike.

Engines, each asked for digits and nothing else tuned, one thread each:

* RapidOCR (``rapidocr-onnxruntime``, PP-OCRv4 det + rec ONNX models shipped in the wheel), in its own
  venv ``.venv-peers`` (``make peers``; never a product dependency), through the worker
  ``benchmarks/peers_rapidocr.py``; time per image is the engine call alone;
* Tesseract (Debian's ``tesseract-ocr``, ``eng`` LSTM model), the CLI with a digits whitelist, TSV
  output; time per image is the whole CLI call (process start and model load included: that is how the
  CLI reads an image).

Images: the 50 real photos of ``../shared/data/realdev`` and pages generated from MNIST **test** digits
with the generator call and seed of ``bench_pages`` (the same page set). A peer's detections become our
text format (:func:`assemble`) and are scored by :mod:`benchmarks.scoring`. Results go to
``benchmarks/results/peers.json``. Run under ``nice -n 10`` on a shared machine.

    python -m benchmarks.bench_peers                  # realdev + 200 pages, both peers (about 5 min)
    python -m benchmarks.bench_peers --dry-run        # 2 realdev images + 2 pages, results to a temp file
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from benchmarks.scoring import median_ms, realdev_items, score_rows, summarize_pages, summarize_realdev

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results" / "peers.json"
PEERS_PYTHON = ROOT / ".venv-peers" / "bin" / "python"
WORKER = Path(__file__).with_name("peers_rapidocr.py")
PEERS = ("rapidocr", "tesseract")
DIGITS = set("0123456789")


# ------------------------------------------------------------ detections -> text


def numbers_of(text: str) -> list[str]:
    """The numbers in one detection's text: split at its own spaces, digits kept (NFKC first, so a
    full-width ``３`` counts as 3), everything else dropped: a peer that reads a letter for a digit loses it."""
    tokens = ("".join(c for c in token if c in DIGITS) for token in unicodedata.normalize("NFKC", text).split())
    return [t for t in tokens if t]


def assemble(detections) -> str:
    """Our text format from ``[(box, text), ...]`` with ``box = (x0, y0, x1, y1)``.

    A detection joins the line whose vertical span overlaps it most, by at least half the smaller of its
    height and the line's mean height (then the line's span grows to cover it); lines are ordered top to
    bottom by their mean centre, detections left to right. Numbers are joined by ``" "``, lines by ``"\\n"``.
    """
    items = [(tuple(map(float, box)), numbers) for box, text in detections if (numbers := numbers_of(text))]
    lines: list[dict] = []
    for box, numbers in sorted(items, key=lambda d: (d[0][1] + d[0][3]) / 2):
        height = box[3] - box[1]
        best, best_overlap = None, 0.0
        for line in lines:
            overlap = min(box[3], line["y1"]) - max(box[1], line["y0"])
            if overlap >= 0.5 * min(height, np.mean(line["heights"])) and overlap > best_overlap:
                best, best_overlap = line, overlap
        if best is None:
            best = {"y0": box[1], "y1": box[3], "heights": [], "centres": [], "items": []}
            lines.append(best)
        best["y0"], best["y1"] = min(best["y0"], box[1]), max(best["y1"], box[3])
        best["heights"].append(height)
        best["centres"].append((box[1] + box[3]) / 2)
        best["items"].append((box[0], numbers))
    lines.sort(key=lambda line: np.mean(line["centres"]))
    return "\n".join(" ".join(n for _, numbers in sorted(line["items"], key=lambda i: i[0]) for n in numbers)
                     for line in lines)


def quad_box(points) -> tuple[float, float, float, float]:
    """The upright box around RapidOCR's four corner points."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return min(xs), min(ys), max(xs), max(ys)


def tesseract_lines(tsv: str) -> list[tuple[tuple[int, int, int, int], str]]:
    """Tesseract's words, one detection per line it found: ``[(box, "word word"), ...]``.

    Word rows (level 5) with text are grouped by ``(page, block, paragraph, line)``; words keep their
    left-to-right order, and the line's box covers them all.
    """
    rows = tsv.splitlines()
    if not rows:
        return []
    header = rows[0].split("\t")
    lines: dict[tuple, list] = {}
    for row in rows[1:]:
        cells = row.split("\t", len(header) - 1)
        if len(cells) < len(header):
            continue
        rec = dict(zip(header, cells))
        if rec["level"] != "5" or not rec["text"].strip():
            continue
        x, y, w, h = (int(rec[k]) for k in ("left", "top", "width", "height"))
        key = tuple(int(rec[k]) for k in ("page_num", "block_num", "par_num", "line_num"))
        lines.setdefault(key, []).append(((x, y, x + w, y + h), rec["text"].strip()))
    out = []
    for words in lines.values():
        words.sort(key=lambda w: w[0][0])
        boxes = [b for b, _ in words]
        box = (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))
        out.append((box, " ".join(t for _, t in words)))
    return out


# ------------------------------------------------------------ engines


def run_rapidocr(paths: list[str], threads: int = 1, python: Path = PEERS_PYTHON) -> tuple[dict, dict]:
    """``(engine versions, {path: {"text", "ms"} or {"error"}})`` from one worker process for all images."""
    if not Path(python).exists():
        raise SystemExit(f"{python} not found: run `make peers` first")
    proc = subprocess.run([str(python), str(WORKER), "--threads", str(threads)], input="\n".join(paths) + "\n",
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"RapidOCR worker failed ({proc.returncode}): {proc.stderr[-2000:]}")
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    engine, readings = lines[0]["engine"], {}
    for item in lines[1:]:
        if "error" in item:
            readings[item["path"]] = {"error": item["error"]}
        else:
            text = assemble([(quad_box(d["box"]), d["text"]) for d in item["detections"]])
            readings[item["path"]] = {"text": text, "ms": item["ms"]}
    return {"name": "RapidOCR", **engine}, readings


def tesseract_version(binary: str = "tesseract") -> str:
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True)
    return (out.stdout or out.stderr).splitlines()[0].split()[-1]


def run_tesseract(paths: list[str], psm: int = 6, binary: str = "tesseract") -> tuple[dict, dict]:
    """``(engine versions, {path: {"text", "ms"} or {"error"}})``, one CLI call per image on one thread."""
    if shutil.which(binary) is None:
        raise SystemExit(f"{binary} not found: run `make peers` first")
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}  # one thread, like the other readers measured here
    command = [binary, "IMAGE", "stdout", "--psm", str(psm), "-c", "tessedit_char_whitelist=0123456789", "tsv"]
    readings = {}
    for path in paths:
        start = time.perf_counter()
        proc = subprocess.run([path if c == "IMAGE" else c for c in command], capture_output=True, text=True, env=env)
        ms = (time.perf_counter() - start) * 1000
        if proc.returncode != 0:
            readings[path] = {"error": proc.stderr.strip()[-500:]}
        else:
            readings[path] = {"text": assemble(tesseract_lines(proc.stdout)), "ms": round(ms, 2)}
    engine = {"name": "Tesseract", "tesseract": tesseract_version(binary), "model": "eng (Debian tesseract-ocr-eng)",
              "command": " ".join(command), "threads": 1}
    return engine, readings


# ------------------------------------------------------------ image sets


def page_items(pages: int, seed: int, data_dir, folder: Path, split: str = "test") -> list[dict]:
    """Pages as PNG files in ``folder``: ``iter_pages`` with ``bench_pages``' seed, so the same pages."""
    from PIL import Image

    from handwritten_digits.data import load_dataset
    from handwritten_digits.data.pages import iter_pages

    items = []
    for k, (image, truth) in enumerate(iter_pages(pages, seed, load_dataset(split, data_dir))):
        path = Path(folder) / f"page-{k:03d}.png"
        Image.fromarray(image).save(path)
        items.append({"id": path.stem, "kind": truth.kind, "label": truth.label, "path": str(path)})
    return items


def run(peers, realdev: list[dict], pages: list[dict], threads: int, psm: int) -> dict:
    out = {}
    paths = [i["path"] for i in realdev + pages]
    for peer in peers:
        start = time.perf_counter()
        engine, readings = run_rapidocr(paths, threads) if peer == "rapidocr" else run_tesseract(paths, psm)
        real_rows, page_rows = score_rows(realdev, readings), score_rows(pages, readings)
        out[peer] = {"engine": engine, "seconds": round(time.perf_counter() - start, 1),
                     "realdev": summarize_realdev(real_rows) if real_rows else None,
                     "pages": summarize_pages(page_rows) if page_rows else None,
                     "ms_per_image": {"realdev_median": median_ms(real_rows), "pages_median": median_ms(page_rows)},
                     "readings": {"realdev": [{k: r.get(k) for k in ("id", "text", "ms")} for r in real_rows],
                                  "pages": [{k: r.get(k) for k in ("id", "text", "ms")} for r in page_rows]}}
        print(f"{peer}: {len(paths)} images in {out[peer]['seconds']} s", file=sys.stderr)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--peers", nargs="+", choices=PEERS, default=list(PEERS), help="engines to run")
    parser.add_argument("--realdev", default=str(ROOT.parent / "shared" / "data" / "realdev"),
                        help="folder of the real photos (labels.csv); '' to skip")
    parser.add_argument("--pages", type=int, default=200, help="generated pages (bench_pages' default: the same pages)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the pages (bench_pages' default)")
    parser.add_argument("--data-dir", default=None, help="MNIST folder; unset: $DIGITS_DATA_DIR")
    parser.add_argument("--split", default="test", choices=["test", "val"],
                        help="MNIST digits of the pages (test: the benchmark; val: choosing a peer's settings)")
    parser.add_argument("--threads", type=int, default=1, help="RapidOCR's ONNX Runtime threads")
    # 6 over 11 (sparse text): 5 against 0 realdev images exact, and as good on 50 validation pages
    parser.add_argument("--psm", type=int, default=6, help="Tesseract page segmentation mode (6: one block of text)")
    parser.add_argument("--out", default=None, help=f"JSON results file (default {RESULTS.relative_to(ROOT)}; "
                                                    "with --dry-run, a file in the temp folder)")
    parser.add_argument("--dry-run", action="store_true", help="2 realdev images and 2 pages, a quick check")
    args = parser.parse_args(argv)
    from handwritten_digits.fileio import atomic_write_json

    limit = 2 if args.dry_run else None
    n_pages = min(args.pages, 2) if args.dry_run else args.pages
    out = args.out or (Path(tempfile.gettempdir()) / "peers-dry-run.json" if args.dry_run else RESULTS)
    started, load_before = datetime.now(timezone.utc).isoformat(timespec="seconds"), os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="peers-pages-") as tmp:
        realdev = realdev_items(Path(args.realdev), limit) if args.realdev else []
        pages = page_items(n_pages, args.seed, args.data_dir, Path(tmp), args.split)
        peers = run(args.peers, realdev, pages, args.threads, args.psm)
    result = {"command": " ".join(["python -m benchmarks.bench_peers", *(sys.argv[1:] if argv is None else argv)]),
              "started": started, "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "quick": args.dry_run, "realdev_images": len(realdev), "pages": n_pages, "seed": args.seed,
              "digits": f"MNIST {args.split}", "settings": {"threads": args.threads, "tesseract_psm": args.psm},
              "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
                          # a shared machine's other work slows the peers: times are only as good as this
                          "load_average_1min": {"start": round(load_before[0], 2), "finish": round(os.getloadavg()[0], 2)}},
              "peers": peers}
    atomic_write_json(out, result)
    for name, res in peers.items():
        real, page = res["realdev"], res["pages"]
        if real:
            kinds = ", ".join(f"{k} {v['exact']}/{v['images']} (digits {v['exact_digits']})" for k, v in real["by_kind"].items())
            print(f"{name} realdev exact: {kinds}; char accuracy {real['all']['char_accuracy']:.1%}")
        if page:
            print(f"{name} {page['pages']} pages: line exact {page['line_exact']:.1%}, page exact {page['page_exact']:.1%}, "
                  f"char accuracy {page['char_accuracy']:.1%}")
        print(f"{name} median ms/image: realdev {res['ms_per_image']['realdev_median']}, pages {res['ms_per_image']['pages_median']}")
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
