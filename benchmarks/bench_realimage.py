"""Reading photo-like images: our preprocessing + segmentation vs the tutorial way, same model.

Test images are built by :mod:`handwritten_digits.synthetic` from MNIST **test** digits (never
used for training or tuning): single digits pasted off-centre on larger canvases at random scale,
polarity, stroke thickness, blur, noise, gradient illumination and JPEG compression; and 2-6 digit
numbers with random spacing, some touching.

Compared, with the same bundled model:

* ``ours``: ``Reader.classify`` (singles) and ``Reader.read`` (numbers, exact string);
* ``naive``: the tutorial way, the whole image resized to 28x28, inverted when the paper is light;
  for numbers, the same applied to each connected component of a fixed 50% threshold
  (what an OpenCV ``findContours`` + ``resize`` tutorial does).

Plus preprocessing throughput (images/s, one process, one thread) and end-to-end reading speed.
Results go to ``benchmarks/results/realimage.json``. Run under ``nice -n 10`` on a shared machine.

    python -m benchmarks.bench_realimage            # 1000 singles, 300 numbers
    python -m benchmarks.bench_realimage --quick    # 200 singles, 60 numbers
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results" / "realimage.json"


def naive_input(gray: np.ndarray) -> np.ndarray:
    """The tutorial way: resize the whole image to 28x28 and invert it if the paper is light."""
    from PIL import Image

    small = np.asarray(Image.fromarray(gray.astype(np.float32), mode="F").resize((28, 28), Image.BILINEAR))
    return (1.0 - small if np.median(gray) > 0.5 else small).astype(np.float32)


def naive_read(gray: np.ndarray, recognizer) -> str:
    """Tutorial multi-digit reading: fixed threshold, connected components, each box resized to 28x28."""
    from scipy import ndimage

    ink = 1.0 - gray if np.median(gray) > 0.5 else gray
    labels, count = ndimage.label(ink > 0.5)
    boxes = [s for s, size in zip(ndimage.find_objects(labels), np.bincount(labels.ravel())[1:]) if size >= 20]
    if not boxes:
        return ""
    boxes.sort(key=lambda s: s[1].start)
    images = np.stack([naive_input(1.0 - ink[s]) for s in boxes])
    return "".join(str(d) for d in recognizer.predict(images))


def run(singles: int, numbers: int, seed: int, model: str | None) -> dict:
    from tqdm import tqdm

    from handwritten_digits.reading.decode import load_image
    from handwritten_digits.reading.normalize import extract_digits, prepare_single
    from handwritten_digits.reading.reader import Reader
    from handwritten_digits.synthetic import make_numbers, make_singles, mnist_test_digits

    reader = Reader.load(model, threads=1)
    recognizer = reader.recognizer
    digits = mnist_test_digits()
    single_set = make_singles(singles, seed=seed, digits=digits)
    number_set = make_numbers(numbers, seed=seed, digits=digits)
    grays = {id(s): load_image(s.image) for s in single_set + number_set}

    ours_ok = naive_ok = 0
    start = time.perf_counter()
    for s in tqdm(single_set, desc="singles", file=sys.stderr):
        r = reader.classify(s.image)
        ours_ok += r is not None and str(r.digit) == s.label
    singles_seconds = time.perf_counter() - start
    naive_pred = recognizer.predict(np.stack([naive_input(grays[id(s)]) for s in single_set]))
    naive_ok = int(sum(str(p) == s.label for p, s in zip(naive_pred, single_set)))

    ours_exact = naive_exact = 0
    errors = []
    start = time.perf_counter()
    for s in tqdm(number_set, desc="numbers", file=sys.stderr):
        text = reader.read(s.image).text
        ours_exact += text == s.label
        if text != s.label and len(errors) < 20:
            errors.append([s.label, text])
        naive_exact += naive_read(grays[id(s)], recognizer) == s.label
    numbers_seconds = time.perf_counter() - start
    digit_count = sum(len(s.label) for s in number_set)

    # Preprocessing alone: decoding + ink + normalisation (singles), + segmentation without the model (numbers)
    start = time.perf_counter()
    for s in single_set:
        prepare_single(s.image)
    prep_singles = time.perf_counter() - start
    start = time.perf_counter()
    for s in number_set:
        extract_digits(s.image)
    prep_numbers = time.perf_counter() - start

    return {
        "benchmark": "realimage",
        "model": recognizer.name,
        "model_path": str(recognizer.path),
        "seed": seed,
        "singles": {
            "count": singles,
            "ours_accuracy": round(ours_ok / singles, 4),
            "naive_accuracy": round(naive_ok / singles, 4),
            "target": 0.98,
        },
        "numbers": {
            "count": numbers,
            "digits": digit_count,
            "ours_exact": round(ours_exact / numbers, 4),
            "naive_exact": round(naive_exact / numbers, 4),
            "target": 0.95,
            "first_errors": errors,
        },
        "throughput": {
            "preprocess_singles_per_s": round(singles / prep_singles, 1),
            "preprocess_numbers_per_s": round(numbers / prep_numbers, 1),
            "read_singles_per_s": round(singles / singles_seconds, 1),
            "read_numbers_per_s": round(numbers / numbers_seconds, 1),
            "threads": 1,
        },
        "machine": {
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
            "load_average": [round(v, 2) for v in os.getloadavg()],
        },
        "command": "python -m benchmarks.bench_realimage " + " ".join(sys.argv[1:]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="200 singles and 60 numbers")
    parser.add_argument("--singles", type=int, default=1000, help="single-digit images")
    parser.add_argument("--numbers", type=int, default=300, help="2-6 digit numbers")
    parser.add_argument("--seed", type=int, default=0, help="synthetic set seed")
    parser.add_argument("--model", default=None, help="bundled name, .onnx file or folder (default: the bundled default)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results JSON")
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    singles, numbers = (200, 60) if args.quick else (args.singles, args.numbers)
    result = run(singles, numbers, args.seed, args.model)
    from handwritten_digits.fileio import atomic_write_json

    atomic_write_json(args.out, result)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
