"""Choose between candidate models on validation data only: the record behind "chosen on validation".

Each model is measured on the 5,000-image MNIST validation split (held out of training) and on
photo-like single digits and numbers that :mod:`handwritten_digits.synthetic` builds from those
validation digits, and on generated pages of them (:mod:`handwritten_digits.data.pages`), read by the
same path as ``digits predict``. The MNIST test set is never loaded.

Beside them, the held-out validation writers of pendigits, optdigits and USPS train
(:func:`handwritten_digits.data.writers.load_writers`), the validation digits as coarse scans keep
them (MNIST's drawn at 8-20 pixels a side, optdigits' writers as 8x8 counts:
:func:`handwritten_digits.data.coarse.coarse_validation`), and marks that are not digits generated
from validation digits (:mod:`handwritten_digits.data.negatives`, a seed no training run uses).

Rule: the first model is the incumbent. A candidate is eligible when it rejects at least
``MARKS_REJECTED`` of the validation marks (or more than the incumbent, while none does), at most
``DIGITS_REJECTED`` of the MNIST validation digits, and its photo-digit accuracy, exact-number rate
and exact-line rate on the pages are no more than ``SLACK`` below the incumbent's. The eligible model
with the highest mean accuracy over the digit sources (MNIST validation, each writers' validation and
the coarse scans) replaces the incumbent when that mean is higher.

    python -m benchmarks.choose_on_validation default runs/wide-s3/model.onnx
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
from pathlib import Path

import numpy as np

from benchmarks.scoring import line_matches

RESULTS = Path(__file__).parent / "results" / "choice.json"
MARKS_REJECTED = 0.95  # the target, on validation marks
DIGITS_REJECTED = 0.005  # MNIST digits a model may answer "not a digit"
SLACK = 0.005  # photo digits, numbers and page lines may lose this much for the rest (a reading of a broader model)
MARKS_SEED = 424242  # validation marks: no training run uses this seed


def measure(model: str, digits, singles, numbers, writers: dict, marks, pages) -> dict:
    """One model's row: accuracy per digit source, rejections, and readings of photos, numbers and ``pages``
    (a callable that yields (image, truth) pages afresh: they are too large to hold)."""
    from tqdm import tqdm

    from handwritten_digits.reading.reader import Reader
    from handwritten_digits.runtime import in_batches

    reader = Reader.load(model, threads=1)
    recognizer = reader.recognizer
    images, labels = digits
    probs = in_batches(recognizer.probabilities, images)
    kept = ~recognizer.not_digit(probs=probs)
    predicted = np.where(kept, probs[:, :10].argmax(1), -1)  # a digit answered "not a digit" is wrong
    sources = {"mnist_val": float((predicted == labels).mean())}
    for name, (x, y) in writers.items():
        p = in_batches(recognizer.probabilities, x)
        sources[f"{name}_val"] = float(((p[:, :10].argmax(1) == y) & ~recognizer.not_digit(probs=p)).mean())
    photo_ok = 0
    for s in tqdm(singles, desc=f"{recognizer.name}: photo digits", file=sys.stderr, leave=False):
        r = reader.classify(s.image)
        photo_ok += r is not None and str(r.digit) == s.label
    exact = sum(reader.read(s.image).text == s.label
                for s in tqdm(numbers, desc=f"{recognizer.name}: numbers", file=sys.stderr, leave=False))
    lines = [line_matches(reader.read(image).text, truth.label)
             for image, truth in tqdm(pages(), desc=f"{recognizer.name}: pages", file=sys.stderr, leave=False)]
    return {"model": recognizer.name, "path": str(recognizer.path),
            **{k: round(v, 4) for k, v in sources.items()},
            "digit_sources_mean": round(float(np.mean(list(sources.values()))), 4),
            "mnist_val_rejected": round(float(1 - kept.mean()), 4),
            "val_marks_rejected": round(float(recognizer.not_digit(probs=in_batches(recognizer.probabilities, marks)).mean()), 4),
            "val_photo_digits": round(photo_ok / len(singles), 4),
            "val_numbers": round(exact / len(numbers), 4),
            "val_page_lines": round(sum(r for r, _ in lines) / max(1, sum(n for _, n in lines)), 4)}


def choose(rows: list[dict]) -> dict:
    """The incumbent (first row) or the eligible candidate (see the module's rule) that beats it."""
    incumbent = rows[0]
    bar = MARKS_REJECTED if any(r["val_marks_rejected"] >= MARKS_REJECTED for r in rows) else incumbent["val_marks_rejected"]
    eligible = [r for r in rows[1:] if r["val_marks_rejected"] >= bar and r["mnist_val_rejected"] <= DIGITS_REJECTED
                and r["val_photo_digits"] >= incumbent["val_photo_digits"] - SLACK
                and r["val_numbers"] >= incumbent["val_numbers"] - SLACK
                and r.get("val_page_lines", 0) >= incumbent.get("val_page_lines", 0) - SLACK]
    if incumbent["val_marks_rejected"] < bar:  # the incumbent fails the bar: any eligible candidate beats it
        return max(eligible, key=lambda r: r["digit_sources_mean"], default=incumbent)
    best = max(eligible, key=lambda r: r["digit_sources_mean"], default=incumbent)
    return best if best["digit_sources_mean"] > incumbent["digit_sources_mean"] else incumbent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("models", nargs="+", help="incumbent first, then candidates (bundled names, .onnx files or folders)")
    parser.add_argument("--singles", type=int, default=1000, help="photo-like single digits built from validation digits")
    parser.add_argument("--numbers", type=int, default=300, help="photo-like 2-6 digit numbers built from validation digits")
    parser.add_argument("--pages", type=int, default=200, help="generated pages of validation digits (their lines read exactly)")
    parser.add_argument("--marks", type=int, default=3000, help="marks that are not digits, built from validation digits")
    parser.add_argument("--seed", type=int, default=0, help="synthetic set seed")
    parser.add_argument("--data-dir", default=None, help="MNIST folder (default: $DIGITS_DATA_DIR)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results JSON")
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    from handwritten_digits.data import load_dataset
    from handwritten_digits.data.coarse import coarse_validation
    from handwritten_digits.data.negatives import negative_inputs, several_digits
    from handwritten_digits.data.pages import iter_pages
    from handwritten_digits.data.writers import SOURCES, load_writers
    from handwritten_digits.fileio import atomic_write_json
    from handwritten_digits.synthetic import make_numbers, make_singles

    digits = load_dataset("val", args.data_dir)
    singles = make_singles(args.singles, seed=args.seed, digits=digits)
    numbers = make_numbers(args.numbers, seed=args.seed, digits=digits)
    writers = {name: load_writers(name, "val") for name in SOURCES}
    writers.update(coarse_validation(digits, seed=args.seed))
    marks, kinds = negative_inputs(args.marks, seed=MARKS_SEED, digits=digits[0][digits[1] != 1])
    marks = marks[~several_digits(kinds)]  # several digits are for the segmenter to cut
    pages = functools.partial(iter_pages, args.pages, args.seed, digits)  # page_errors' pages of this seed
    rows = [measure(m, digits, singles, numbers, writers, marks, pages) for m in args.models]
    result = {"benchmark": "choose_on_validation",
              "command": "python -m benchmarks.choose_on_validation " + " ".join(argv if argv is not None else sys.argv[1:]),
              "rule": f"reject >= {MARKS_REJECTED:.0%} of validation marks and <= {DIGITS_REJECTED:.1%} of MNIST validation "
                      f"digits; photo digits, numbers and page lines within {SLACK:.1%} of the incumbent; then the highest mean "
                      "accuracy over MNIST validation, the writers' validation and the coarse scans",
              "sets": {"mnist_val": len(digits[1]), "val_photo_digits": args.singles, "val_numbers": args.numbers,
                       "val_pages": args.pages, "val_marks": len(marks), **{f"{k}_val": len(v[1]) for k, v in writers.items()}},
              "candidates": rows, "chosen": choose(rows)["model"]}
    atomic_write_json(args.out, result)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
