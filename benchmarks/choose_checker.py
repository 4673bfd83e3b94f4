"""Segmentation checkers side by side on validation crops, to choose the bundled one.

Every checker is scored on the same crops (:mod:`handwritten_digits.data.composites`: straight-cut
composites and the parts the reader's cut search makes), built from MNIST validation digits alone and
from those with the pendigits, optdigits and USPS validation writers' digits; and on those writers'
digits alone, all whole: the share judged *not* one whole digit is the share the reader would try to
cut. Validation only: no test digit is read.

    python -m benchmarks.choose_checker src/handwritten_digits/assets/models/checker.onnx runs/checker-mixed-big/model.onnx
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results" / "choice-checker.json"
CROPS, SEED = 8000, 101  # composites and as many cut parts, per set


def crop_sets(mnist_val: np.ndarray, writers: dict) -> dict:
    """``{name: (crops, whole)}``: MNIST validation crops, and crops of MNIST and the writers' validation digits."""
    from handwritten_digits.data.composites import cut_crops, make_crops

    mixed = np.concatenate([mnist_val] + [x for x, _ in writers.values()]).astype(np.float32)
    sets = {}
    for name, images in (("mnist val crops", mnist_val), ("mixed val crops", mixed)):
        made, cut = make_crops(images, CROPS, seed=SEED), cut_crops(images, CROPS, seed=SEED)
        sets[name] = (np.concatenate([made[0], cut[0]]), np.concatenate([made[1], cut[1]]))
    return sets


def score(path: str, sets: dict, wholes: dict) -> dict:
    """One checker's crop accuracy per set, and per source the share of whole digits judged not whole."""
    from handwritten_digits.runtime import Recognizer

    whole = Recognizer.load(checker=path).whole_probability
    row = {"checker": path}
    row |= {name: float(((whole(x) > 0.5) == y).mean()) for name, (x, y) in sets.items()}
    for source, (x, y) in wholes.items():
        p = whole(x)
        row[f"{source} not whole"] = float((p < 0.5).mean())
        row[f"{source} 1s not whole"] = float((p[y == 1] < 0.5).mean())
    return row


def main(argv=None) -> int:
    from handwritten_digits.data import load_dataset
    from handwritten_digits.data.writers import SOURCES, load_writers
    from handwritten_digits.fileio import atomic_write_json

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkers", nargs="+", help="checker .onnx files")
    parser.add_argument("--data-dir", default=None, help="MNIST folder (default: $DIGITS_DATA_DIR)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results JSON (default %(default)s)")
    args = parser.parse_args(argv)
    mnist_val = load_dataset("val", args.data_dir)
    writers = {source: load_writers(source, "val", seed=0) for source in SOURCES}
    sets = crop_sets(mnist_val[0], writers)
    wholes = {"mnist": mnist_val, **writers}
    rows = [score(path, sets, wholes) for path in args.checkers]
    command = "python -m benchmarks.choose_checker " + " ".join(argv if argv is not None else sys.argv[1:])
    atomic_write_json(args.out, {"crops_per_set": 2 * CROPS, "seed": SEED, "rows": rows, "command": command})
    for row in rows:
        print(row["checker"] + ": " + ", ".join(f"{k} {v:.2%}" for k, v in row.items() if k != "checker"))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
