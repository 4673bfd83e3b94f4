"""Accuracy of the bundled ``accurate`` ensemble on MNIST (validation and test), USPS test and Semeion.

    python -m benchmarks.bench_ensemble [--data-dir DIR] [--quick]

Writes ``benchmarks/results/ensemble.json``. Evaluation only, through the ONNX runtime.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def main(argv=None) -> dict:
    from handwritten_digits.data import load_eval_set
    from handwritten_digits.fileio import atomic_write_json
    from handwritten_digits.runtime import Recognizer

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--data-dir", default=None, help="MNIST folder (default: $DIGITS_DATA_DIR)")
    parser.add_argument("--models", nargs="+", default=["accurate"], help="models to measure (the single default model is measured by bench_cnn)")
    parser.add_argument("--quick", action="store_true", help="first 1,000 images of each set only")
    parser.add_argument("--out", default=str(RESULTS / "ensemble.json"), help="results file")
    args = parser.parse_args(argv)
    sets = {name: load_eval_set(name, args.data_dir) for name in ("val", "test", "usps-test", "semeion")}
    if args.quick:
        sets = {k: (x[:1000], y[:1000]) for k, (x, y) in sets.items()}
    rows = {}
    for spec in args.models:
        recognizer = Recognizer.load(spec)
        row = {f"{name}_accuracy": float((recognizer.predict(x) == y).mean()) for name, (x, y) in sets.items()}
        members = recognizer.card.get("architecture", {}).get("members")
        rows[recognizer.name] = {"bundled_as": spec, "kind": recognizer.card.get("kind"), **row,
                                 "members": len(members) if members else 1}
    result = {"benchmark": "ensemble", "models": rows, "quick": args.quick,
              "command": "python -m benchmarks.bench_ensemble " + " ".join(argv if argv is not None else sys.argv[1:]),
              "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
              "machine": {"cpus": os.cpu_count()}}
    atomic_write_json(args.out, result)
    for name, row in rows.items():
        print(name, {k: round(v, 4) for k, v in row.items() if isinstance(v, float)})
    return result


if __name__ == "__main__":
    main()
