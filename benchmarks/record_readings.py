"""Record what the reader outputs (text, boxes, confidences) on four image sets, image by image.

Made so a rewrite of the reading pipeline can be compared with the code before it
(``benchmarks/compare_readings.py``). Sets:

* ``realimage``: the photo-like singles and numbers of ``bench_realimage`` (MNIST test digits);
* ``validation``: the same kind of images from MNIST validation digits (``choose_on_validation``);
* ``canvas``: drawings like the web page sends, from pendigits pen strokes (1-3 digits);
* ``realdev``: the 50 real photos and scans in ``../shared/data/realdev``.

Run under ``nice`` on a shared machine; one thread. To record the code before a rewrite, put its
``src`` first on the path::

    PYTHONPATH=/tmp/before/src:. python -m benchmarks.record_readings --out benchmarks/results/readings-before.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.scoring import digits_only, edit_distance, expected, realdev_items

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results" / "readings.json"
SETS = ("realimage", "validation", "canvas", "realdev")
DEFAULTS = {"singles": 1000, "numbers": 300, "canvas": 1000, "seed": 0}


def _reader(model: str):
    """``(read, classify)`` of the current reading pipeline, loaded with ``model`` on one thread."""
    try:
        from handwritten_digits.reading.reader import Reader
    except ModuleNotFoundError as exc:
        if exc.name not in ("handwritten_digits.reading", "handwritten_digits.reading.reader"):
            raise
        # the fallback reads with the pipeline before the rewrite, for the 'before' record
        from handwritten_digits.runtime import Recognizer as Reader
    reader = Reader.load(model, threads=1)
    return reader.read, reader.classify


def build_sets(names, data_dir: Path, external_dir: Path, realdev: Path, singles: int, numbers: int,
               canvas: int, seed: int):
    """``{set: [(id, kind, label, image), ...]}``: the same images every run (everything is seeded)."""
    from handwritten_digits.synthetic import make_numbers, make_singles

    def synthetic(digits):
        parts = {"single": make_singles(singles, seed=seed, digits=digits),
                 "number": make_numbers(numbers, seed=seed, digits=digits)}
        return [(f"{kind}-{i:04d}", kind, s.label, s.image) for kind, samples in parts.items() for i, s in enumerate(samples)]

    out = {}
    if "realimage" in names:
        from handwritten_digits.synthetic import mnist_test_digits

        out["realimage"] = synthetic(mnist_test_digits(data_dir))
    if "validation" in names:
        from handwritten_digits.data import load_dataset

        out["validation"] = synthetic(load_dataset("val", data_dir))
    if "canvas" in names:
        from handwritten_digits.data.pendigits import canvas_drawings

        drawings = canvas_drawings(canvas, seed=seed, path=external_dir / "pendigits" / "pendigits-orig.tra")
        out["canvas"] = [(f"canvas-{i:04d}", "single" if len(label) == 1 else "number", label, png)
                         for i, (png, label) in enumerate(drawings)]
    if "realdev" in names:
        out["realdev"] = [(i["id"], i["kind"], i["label"], i["path"]) for i in realdev_items(realdev)]
    return out


def record(name: str, items, read, classify) -> list[dict]:
    """Read every image; classify it too when it shows one digit."""
    from tqdm import tqdm

    rows = []
    for image_id, kind, label, image in tqdm(items, desc=name, file=sys.stderr):
        row = {"set": name, "id": image_id, "kind": kind, "label": label}
        try:
            start = time.perf_counter()
            result = read(image)
            row["read_ms"] = round((time.perf_counter() - start) * 1000, 2)
            row["text"] = result.text
            row["boxes"] = [[int(v) for v in d.box] for d in result.digits]
            row["confidences"] = [round(float(d.confidence), 4) for d in result.digits]
            row["marks"] = [[int(v) for v in m.box] for m in getattr(result, "marks", [])]  # not digits (newer readers)
            if len(label) == 1:
                c = classify(image)
                row["classify"] = None if c is None else {"digit": int(c.digit), "box": [int(v) for v in c.box],
                                                          "confidence": round(float(c.confidence), 4)}
        except Exception as exc:  # one unreadable image must not lose the whole record
            row["error"] = f"{type(exc).__name__}: {exc}"
            print(f"{name}/{image_id}: {row['error']}", file=sys.stderr)
        row["ok"] = row.get("text") == expected(label)
        rows.append(row)
    return rows


def summarize(rows: list[dict]) -> dict:
    """Exact-text accuracy (overall, per kind, digits only), character accuracy and read time."""
    n = len(rows)
    texts = [r.get("text", "") for r in rows]
    targets = [expected(r["label"]) for r in rows]
    edits = sum(edit_distance(t, e) for t, e in zip(texts, targets))
    plain = [(digits_only(t), digits_only(e)) for t, e in zip(texts, targets)]
    times = sorted(r["read_ms"] for r in rows if "read_ms" in r)
    out = {"count": n, "exact": round(sum(r["ok"] for r in rows) / n, 4),
           "by_kind": {k: round(sum(r["ok"] for r in rows if r["kind"] == k) / sum(r["kind"] == k for r in rows), 4)
                       for k in sorted({r["kind"] for r in rows})},
           "char_accuracy": round(1 - edits / max(1, sum(map(len, targets))), 4),
           "digits_only_exact": round(sum(t == e for t, e in plain) / n, 4),
           "digits_only_char_accuracy": round(1 - sum(edit_distance(t, e) for t, e in plain)
                                              / max(1, sum(len(e) for _, e in plain)), 4),
           "read_ms_mean": round(sum(times) / max(1, len(times)), 2),
           "read_ms_median": times[len(times) // 2] if times else None,
           "errors": sum("error" in r for r in rows)}
    singles = [r for r in rows if "classify" in r]
    if singles:
        out["classify_accuracy"] = round(sum(r["classify"] is not None and str(r["classify"]["digit"]) == r["label"]
                                             for r in singles) / len(singles), 4)
    return out


def dumps(result: dict) -> str:
    """JSON with one line per image: a third the size of indented rows, and diffable line by line."""
    head = json.dumps({k: v for k, v in result.items() if k != "images"}, indent=2)
    rows = ",\n".join("    " + json.dumps(r) for r in result["images"])
    return head[:-2] + ',\n  "images": [\n' + rows + "\n  ]\n}\n"


def _source() -> dict:
    """Which reading code ran: the package folder and its git commit (and whether it had edits)."""
    import handwritten_digits

    folder = Path(handwritten_digits.__file__).resolve().parent

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    return {"package": str(folder), "commit": git("rev-parse", "HEAD") or None,
            "edited_files": git("status", "--porcelain", "--", ".").splitlines()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--out", type=Path, default=RESULTS, help="results JSON (written atomically)")
    parser.add_argument("--model", default="default-int8", help="bundled name, .onnx file or folder (what the server serves)")
    parser.add_argument("--sets", nargs="+", choices=SETS, default=list(SETS), help="which sets to record")
    parser.add_argument("--singles", type=int, default=DEFAULTS["singles"], help="photo-like single digits per MNIST set")
    parser.add_argument("--numbers", type=int, default=DEFAULTS["numbers"], help="photo-like 2-6 digit numbers per MNIST set")
    parser.add_argument("--canvas", type=int, default=DEFAULTS["canvas"], help="pendigits canvas drawings")
    parser.add_argument("--seed", type=int, default=DEFAULTS["seed"], help="seed of every synthetic set")
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("DIGITS_DATA_DIR") or ROOT.parent / "shared/data/mnist"),
                        help="MNIST folder ($DIGITS_DATA_DIR, else ../shared/data/mnist)")
    parser.add_argument("--external-dir", type=Path,
                        default=Path(os.environ.get("DIGITS_EXTERNAL_DIR") or ROOT.parent / "shared/data/external"),
                        help="external sets folder with pendigits/ ($DIGITS_EXTERNAL_DIR, else ../shared/data/external)")
    parser.add_argument("--realdev", type=Path, default=ROOT.parent / "shared/data/realdev", help="realdev folder")
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    from handwritten_digits.fileio import atomic_write_text

    read, classify = _reader(args.model)
    reader = getattr(read, "__self__", read)
    sets = build_sets(args.sets, args.data_dir, args.external_dir, args.realdev,
                      args.singles, args.numbers, args.canvas, args.seed)
    rows = {name: record(name, items, read, classify) for name, items in sets.items()}
    result = {"benchmark": "readings",
              "command": "python -m benchmarks.record_readings " + " ".join(argv if argv is not None else sys.argv[1:]),
              "model": args.model, "reader": f"{type(reader).__module__}.{type(reader).__qualname__}",
              "source": _source(), "seed": args.seed, "threads": 1,
              "machine": {"python": platform.python_version(), "cpu_count": os.cpu_count(),
                          "load_average": [round(v, 2) for v in os.getloadavg()]},
              "summary": {name: summarize(r) for name, r in rows.items()},
              "images": [row for r in rows.values() for row in r]}
    atomic_write_text(args.out, dumps(result))
    for name, s in result["summary"].items():
        print(f"{name:<11} n={s['count']:<5} exact={s['exact']:.4f} by kind={s['by_kind']} "
              f"char={s['char_accuracy']:.4f} digits-only={s['digits_only_exact']:.4f}/{s['digits_only_char_accuracy']:.4f} "
              f"read={s['read_ms_mean']:.1f} ms" + (f" classify={s['classify_accuracy']:.4f}" if "classify_accuracy" in s else ""))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
