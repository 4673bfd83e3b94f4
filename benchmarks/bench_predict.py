"""``digits predict`` on a folder of images: every core (``--workers`` = cores) vs one process.

The images are built as in :mod:`benchmarks.bench_realimage`, by :mod:`handwritten_digits.synthetic`
from MNIST **test** digits: three quarters photo-like single digits, one quarter 2-6 digit numbers,
written alternately as PNG and JPEG files into a temporary folder. Each run is the real command in
its own process (``python -m handwritten_digits predict --json --workers N FOLDER``), so the wall
time includes starting Python, the workers and loading the model, as a user sees it.

Runs, in this order: every core (``--workers`` = cores, one ONNX Runtime thread each); one process
with the default ``--threads`` (all cores, as ``digits predict`` read before ``--workers``); one
process with ``--threads 1``. Reported: wall seconds, images/s, speed-up over each one-process run,
exact reading rate (text == label) and whether the outputs are identical. Results go to
``benchmarks/results/predict.json``. Run it on a quiet machine, or under ``nice -n 10`` on a shared one.

    python -m benchmarks.bench_predict               # 2000 images
    python -m benchmarks.bench_predict --quick       # 200 images
    python -m benchmarks.bench_predict --count 500
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "predict.json"


def build_images(folder: Path, count: int, seed: int, data_dir=None) -> dict[str, str]:
    """Write ``count`` photo-like images into ``folder``; return each file's name -> the digits it shows."""
    from PIL import Image

    from handwritten_digits.synthetic import make_numbers, make_singles, mnist_test_digits

    digits = mnist_test_digits(data_dir)
    numbers = count // 4
    samples = make_singles(count - numbers, seed=seed, digits=digits) + make_numbers(numbers, seed=seed, digits=digits)
    labels = {}
    for i, s in enumerate(samples):
        name = f"{i:05d}-{s.label}" + (".png" if i % 2 == 0 else ".jpg")
        Image.fromarray(s.image).save(folder / name, **({} if name.endswith(".png") else {"quality": 90}))
        labels[name] = s.label
    return labels


def run_cli(folder: Path, workers: int, threads: int | None, model: str | None) -> tuple[float, list[dict]]:
    """Wall seconds of one ``digits predict --json`` run on ``folder``, and its records."""
    cmd = [sys.executable, "-m", "handwritten_digits", "predict", "--json", "--no-progress",
           "--workers", str(workers), *(["--threads", str(threads)] if threads else []),
           *(["--model", model] if model else []), str(folder)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return seconds, [json.loads(line) for line in proc.stdout.splitlines()]


def run(count: int, seed: int, model: str | None, data_dir=None) -> dict:
    from handwritten_digits.batch import cpu_count

    cores = cpu_count()
    with tempfile.TemporaryDirectory(prefix="bench-predict-") as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        labels = build_images(folder, count, seed, data_dir)
        build_seconds = time.perf_counter() - start
        runs, outputs = {}, {}
        for name, workers, threads in [("all_cores", cores, None), ("one_process", 1, None), ("one_process_one_thread", 1, 1)]:
            print(f"== {name}: --workers {workers}" + (f" --threads {threads}" if threads else ""), file=sys.stderr, flush=True)
            seconds, records = run_cli(folder, workers, threads, model)
            assert [Path(r["path"]).name for r in records] == sorted(labels), "output not in input order"
            exact = sum(r.get("text") == labels[Path(r["path"]).name] for r in records)
            runs[name] = {
                "workers": workers,
                "threads": (threads or "default (all cores)") if workers == 1 else (threads or 1),
                "seconds": round(seconds, 2),
                "images_per_s": round(count / seconds, 1),
                "exact": round(exact / count, 4),
                "errors": sum("error" in r for r in records),
                "partial": sum(bool(r.get("limits")) for r in records),  # readings that reached a cap on work
            }
            outputs[name] = records
    fast = runs["all_cores"]["seconds"]
    return {
        "benchmark": "predict",
        "images": {"count": count, "singles": count - count // 4, "numbers": count // 4, "seed": seed,
                   "formats": "PNG and JPEG, alternately", "build_seconds": round(build_seconds, 1)},
        "runs": runs,
        "speedup": {
            "vs_one_process": round(runs["one_process"]["seconds"] / fast, 2),
            "vs_one_process_one_thread": round(runs["one_process_one_thread"]["seconds"] / fast, 2),
        },
        "identical_outputs": outputs["all_cores"] == outputs["one_process"] == outputs["one_process_one_thread"],
        # records that differ between runs (should be 0: a reading's caps count work, not time)
        "differences": _differences(outputs),
        "machine": {
            "python": platform.python_version(),
            "cores": cores,
            "load_average": [round(v, 2) for v in os.getloadavg()],
        },
        "command": "python -m benchmarks.bench_predict " + " ".join(sys.argv[1:]),
    }


def _differences(outputs: dict[str, list[dict]]) -> int:
    runs = list(outputs.values())
    return sum(1 for records in zip(*runs) if any(r != records[0] for r in records))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--count", type=int, default=2000, help="images to read")
    parser.add_argument("--quick", action="store_true", help="200 images (overrides --count)")
    parser.add_argument("--seed", type=int, default=0, help="synthetic set seed")
    parser.add_argument("--model", default=None, help="bundled name, .onnx file or folder (default: the bundled default)")
    parser.add_argument("--data-dir", default=None, help="MNIST folder (default: $DIGITS_DATA_DIR, else the cache)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results JSON")
    args = parser.parse_args(argv)
    result = run(200 if args.quick else args.count, args.seed, args.model, args.data_dir)
    from handwritten_digits.fileio import atomic_write_json

    atomic_write_json(args.out, result)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
