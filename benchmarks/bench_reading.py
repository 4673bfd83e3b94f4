"""Reading speed in one process on one core: canvas drawings, photo-like numbers, phone photos, worst cases.

What a reading costs before any HTTP: CPU per canvas request body (the page's 280x140 PNG), photo-like
numbers read per second, an 8-12 megapixel phone JPEG, and the stripe image of issue 13 (447x447,
one-pixel stripes every third column). Every image is built here, seeded; MNIST validation digits
only. The same script measures the pipeline before the stages were rewritten, so both sit side by side:

    python -m benchmarks.bench_reading                                   # -> results/reading.json ("after")
    PYTHONPATH=/tmp/before/src:. python -m benchmarks.bench_reading --label before

Run it on a quiet machine (``nice`` does not shield CPU-time figures from a busy neighbour core).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results" / "reading.json"


def phone_photos(count: int, digits, seed: int = 0) -> list[tuple[bytes, str]]:
    """JPEGs of 8-12 megapixels (4000x3000, 3264x2448, 4032x3024): a photo-like number blown up, with sensor noise."""
    from PIL import Image

    from handwritten_digits.synthetic import make_numbers

    rng = np.random.default_rng(seed)
    sizes = [(4000, 3000), (3264, 2448), (4032, 3024)]
    out = []
    for k, sample in enumerate(make_numbers(count, seed=seed, digits=digits)):
        img = Image.fromarray(sample.image).convert("RGB").resize(sizes[k % 3], Image.BICUBIC)
        pixels = np.asarray(img, np.float32) + rng.normal(0, 4, (img.height, img.width, 1))
        buffer = io.BytesIO()
        Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(buffer, format="JPEG", quality=90)
        out.append((buffer.getvalue(), sample.label))
    return out


def cpu_ms(read, images, rounds: int = 1) -> list[float]:
    """CPU milliseconds of this thread for each reading (after one warm-up reading of each image)."""
    for image in images[: min(len(images), 8)]:
        read(image)
    times = []
    for _ in range(rounds):
        for image in images:
            start = time.thread_time()
            read(image)
            times.append((time.thread_time() - start) * 1000)
    return times


def summary(times: list[float]) -> dict:
    t = np.asarray(times)
    return {"count": len(t), "mean_ms": round(float(t.mean()), 3), "median_ms": round(float(np.median(t)), 3),
            "p90_ms": round(float(np.percentile(t, 90)), 3), "max_ms": round(float(t.max()), 3)}


def run(model: str, canvas: int, numbers: int, photos: int, seed: int) -> dict:
    from benchmarks.bench_load import canvas_pngs
    from benchmarks.bench_worst import png, stripes
    from handwritten_digits.data import load_dataset
    from handwritten_digits.synthetic import make_numbers

    from benchmarks.record_readings import _reader  # the pipeline before the rewrite too, when on the path

    read = _reader(model)[0]
    digits = load_dataset("val")
    bodies = canvas_pngs(canvas)
    number_images = [s.image for s in make_numbers(numbers, seed=seed, digits=digits)]
    photo_jpegs = [data for data, _ in phone_photos(photos, digits, seed)]
    out = {"canvas_request": summary(cpu_ms(read, bodies, rounds=3))}
    number_times = cpu_ms(read, number_images)
    out["photo_numbers"] = summary(number_times) | {"per_s": round(1000 / float(np.mean(number_times)), 1)}
    out["phone_jpeg_8_12mp"] = summary(cpu_ms(read, photo_jpegs))
    out["stripes_447"] = summary(cpu_ms(read, [png(stripes(447, 447))], rounds=5))
    out["stripes_1000"] = summary(cpu_ms(read, [png(stripes(1000, 1000))], rounds=3))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", default="default-int8", help="model to read with (the server's)")
    p.add_argument("--canvas", type=int, default=64, help="canvas request bodies (each read 3 times)")
    p.add_argument("--numbers", type=int, default=300, help="photo-like numbers from validation digits")
    p.add_argument("--photos", type=int, default=9, help="8-12 megapixel phone JPEGs")
    p.add_argument("--seed", type=int, default=0, help="image seed")
    p.add_argument("--label", default="after", help="which pipeline this run measures: its key in the results")
    p.add_argument("--out", default=str(RESULTS), help="results JSON (other labels in it are kept)")
    args = p.parse_args(argv)
    from handwritten_digits.fileio import atomic_write_json

    figures = run(args.model, args.canvas, args.numbers, args.photos, args.seed)
    path = Path(args.out)
    results = json.loads(path.read_text()) if path.exists() else {"benchmark": "reading"}
    results[args.label] = {
        "figures": figures, "model": args.model, "threads": 1,
        "machine": {"python": platform.python_version(), "cpu_count": os.cpu_count(),
                    "load_average": [round(v, 2) for v in os.getloadavg()]},
        "command": "python -m benchmarks.bench_reading " + " ".join(sys.argv[1:] if argv is None else argv),
    }
    atomic_write_json(path, results)
    print(json.dumps({args.label: figures}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
