"""Choose between candidate models on validation data only: the record behind "chosen on validation".

Each model is measured on the 5,000-image MNIST validation split (held out of training) and on
photo-like single digits and numbers that :mod:`handwritten_digits.synthetic` builds from those
validation digits, read by the same path as ``digits predict``. The MNIST test set is never loaded.

Rule: the first model is the incumbent. A candidate replaces it when its MNIST validation accuracy
is higher and neither its photo-digit accuracy nor its exact-number rate is lower; among several,
the highest MNIST validation accuracy wins.

    python -m benchmarks.choose_on_validation default runs/wide-s3/model.onnx
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "choice.json"


def measure(model: str, digits, singles, numbers) -> dict:
    from tqdm import tqdm

    from handwritten_digits.reading.reader import Reader
    from handwritten_digits.runtime import in_batches

    reader = Reader.load(model, threads=1)
    recognizer = reader.recognizer
    images, labels = digits
    predicted = in_batches(recognizer.predict, images)
    photo_ok = 0
    for s in tqdm(singles, desc=f"{recognizer.name}: photo digits", file=sys.stderr, leave=False):
        r = reader.classify(s.image)
        photo_ok += r is not None and str(r.digit) == s.label
    exact = sum(reader.read(s.image).text == s.label
                for s in tqdm(numbers, desc=f"{recognizer.name}: numbers", file=sys.stderr, leave=False))
    return {"model": recognizer.name, "path": str(recognizer.path),
            "mnist_val": round(float((predicted == labels).mean()), 4),
            "val_photo_digits": round(photo_ok / len(singles), 4),
            "val_numbers": round(exact / len(numbers), 4)}


def choose(rows: list[dict]) -> dict:
    """The incumbent (first row) or the candidate that beats it on MNIST validation without losing on photos."""
    incumbent = rows[0]
    eligible = [r for r in rows[1:] if r["mnist_val"] > incumbent["mnist_val"]
                and r["val_photo_digits"] >= incumbent["val_photo_digits"] and r["val_numbers"] >= incumbent["val_numbers"]]
    return max(eligible, key=lambda r: r["mnist_val"], default=incumbent)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("models", nargs="+", help="incumbent first, then candidates (bundled names, .onnx files or folders)")
    parser.add_argument("--singles", type=int, default=1000, help="photo-like single digits built from validation digits")
    parser.add_argument("--numbers", type=int, default=300, help="photo-like 2-6 digit numbers built from validation digits")
    parser.add_argument("--seed", type=int, default=0, help="synthetic set seed")
    parser.add_argument("--data-dir", default=None, help="MNIST folder (default: $DIGITS_DATA_DIR)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results JSON")
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    from handwritten_digits.data import load_dataset
    from handwritten_digits.fileio import atomic_write_json
    from handwritten_digits.synthetic import make_numbers, make_singles

    digits = load_dataset("val", args.data_dir)
    singles = make_singles(args.singles, seed=args.seed, digits=digits)
    numbers = make_numbers(args.numbers, seed=args.seed, digits=digits)
    rows = [measure(m, digits, singles, numbers) for m in args.models]
    result = {"benchmark": "choose_on_validation",
              "command": "python -m benchmarks.choose_on_validation " + " ".join(argv if argv is not None else sys.argv[1:]),
              "rule": "MNIST validation accuracy first; photo digits and numbers built from validation digits must not drop",
              "sets": {"mnist_val": len(digits[1]), "val_photo_digits": args.singles, "val_numbers": args.numbers},
              "candidates": rows, "chosen": choose(rows)["model"]}
    atomic_write_json(args.out, result)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
