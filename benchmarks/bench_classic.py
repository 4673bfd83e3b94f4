"""Train every classic model on MNIST and measure it through the ONNX runtime.

For each of ``logreg``, ``knn``, ``forest``, ``svm`` and ``best`` (see
:mod:`handwritten_digits.models.classic`): fit on the training split (MNIST train minus the 5,000
validation images), then record validation accuracy, test accuracy (final figure only, nothing is
chosen on it), training seconds, inference throughput (images/s through the ONNX
:class:`~handwritten_digits.runtime.Recognizer` on the test set, deskewing included where the model
needs it) and the ONNX model size. Results go to ``benchmarks/results/classic.json``, rewritten
after every model so a long run keeps what it finished.

Run under ``nice -n 10`` on a shared machine; the load average is recorded with the results
because other work on the cores slows every figure here.

    python -m benchmarks.bench_classic                 # full MNIST (tens of minutes on 2 cores)
    python -m benchmarks.bench_classic --quick         # 3,000 training images, a smoke run (classic-quick.json)
    python -m benchmarks.bench_classic --models best   # one model
    python -m benchmarks.bench_classic --table         # the results file as a Markdown table (README)
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

RESULTS = Path(__file__).parent / "results" / "classic.json"
QUICK_RESULTS = RESULTS.with_name("classic-quick.json")  # a smoke run never overwrites the real figures
MODELS = ["logreg", "knn", "forest", "svm", "best"]


def throughput(recognizer, images: np.ndarray, batch: int = 1000) -> tuple[np.ndarray, float]:
    """Predicted labels and images/s; batches bound memory (the k-NN graph holds test x train distances)."""
    from handwritten_digits.runtime import in_batches

    began = time.perf_counter()
    labels = in_batches(recognizer.predict, images, batch)
    return labels, len(images) / (time.perf_counter() - began)


def bench_model(name: str, data: dict, seed: int, save: Path | None) -> dict:
    from handwritten_digits import modelcard
    from handwritten_digits.evaluation.calibration import fit_temperature
    from handwritten_digits.runtime import in_batches
    from handwritten_digits.training.classic import export_classic, fit_classic

    (x, y), (xv, yv), (xt, yt) = data["train"], data["val"], data["test"]
    print(f"[{name}] fitting on {len(y):,} images ...", file=sys.stderr, flush=True)
    began = time.perf_counter()
    pipeline = fit_classic(name, x, y, seed=seed, progress=True)
    seconds = time.perf_counter() - began
    recognizer, onnx_data = export_classic(pipeline, modelcard.new_card(name=name, kind="classic"))
    val_logits = in_batches(recognizer.logits, xv)
    recognizer.temperature = recognizer.card["temperature"] = fit_temperature(val_logits, yv)  # as `digits train`
    val_pred = val_logits.argmax(axis=1)
    test_pred, images_per_s = throughput(recognizer, xt)
    row = {
        "model": name,
        "pipeline": [f"{step}:{type(est).__name__}" for step, est in pipeline.steps],
        "train_images": int(len(y)),
        "val_accuracy": round(float((val_pred == yv).mean()), 5),
        "test_accuracy": round(float((test_pred == yt).mean()), 5),
        "train_seconds": round(seconds, 2),
        "inference_images_per_s": round(images_per_s, 1),
        "model_bytes": len(onnx_data),
        "deskew_in_runtime": bool(recognizer.card["input"]["deskew"]),
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }
    if save:
        modelcard.save_model(onnx_data, recognizer.card | {"metrics": {
            "val": {"accuracy": row["val_accuracy"], "n": int(len(yv))},
            "test": {"accuracy": row["test_accuracy"], "n": int(len(yt))}}}, save / f"{name}.onnx")
    print(f"[{name}] val {row['val_accuracy']:.4f}  test {row['test_accuracy']:.4f}  "
          f"fit {seconds:.1f} s  {images_per_s:,.0f} img/s  {len(onnx_data) / 1e6:.2f} MB", file=sys.stderr, flush=True)
    return row


def markdown_table(results: dict) -> str:
    """The README's table of classic models, generated from the results file (never typed by hand)."""
    lines = ["| model | pipeline | val accuracy | test accuracy | training (s) | inference (images/s) | ONNX size |",
             "|---|---|---|---|---|---|---|"]
    rows = results["models"]
    for name, row in sorted(rows.items(), key=lambda item: MODELS.index(item[0]) if item[0] in MODELS else 99):
        steps = " → ".join(step.split(":")[1] for step in row["pipeline"])
        lines.append(f"| `{name}` | {steps} | {row['val_accuracy']:.2%} | {row['test_accuracy']:.2%} | "
                     f"{row['train_seconds']:,.0f} | {row['inference_images_per_s']:,.0f} | "
                     f"{row['model_bytes'] / 1e6:.2f} MB |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from handwritten_digits.data import load_dataset, mnist_checksums
    from handwritten_digits.fileio import atomic_write_json

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--quick", action="store_true", help="3,000 training images and 2,000 test images: a smoke run")
    p.add_argument("--models", nargs="+", default=MODELS, choices=MODELS, help="models to benchmark")
    p.add_argument("--data-dir", default=None, help="MNIST folder (default: $DIGITS_DATA_DIR, then the user cache)")
    p.add_argument("--seed", type=int, default=0, help="random seed of every model")
    p.add_argument("--save", default=None, help="also save each model (ONNX + card) in this folder")
    p.add_argument("--out", default=None, help="results JSON (default: benchmarks/results/classic.json; with --quick, classic-quick.json)")
    p.add_argument("--table", action="store_true", help="print the results in --out as a Markdown table and exit")
    args = p.parse_args(argv)
    args.out = args.out or str(QUICK_RESULTS if args.quick else RESULTS)
    if args.table:
        print(markdown_table(json.loads(Path(args.out).read_text())))
        return 0

    data = {split: load_dataset(split, args.data_dir) for split in ("train", "val", "test")}
    if args.quick:
        data = {"train": tuple(a[:3000] for a in data["train"]), "val": tuple(a[:1000] for a in data["val"]),
                "test": tuple(a[:2000] for a in data["test"])}
    results = {
        "benchmark": "classic",
        "command": "python -m benchmarks.bench_classic " + " ".join(sys.argv[1:] if argv is None else argv),
        "quick": args.quick,
        "train_images": len(data["train"][1]), "val_images": len(data["val"][1]), "test_images": len(data["test"][1]),
        "data_checksums": mnist_checksums(args.data_dir),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "load_average_at_start": list(os.getloadavg())},
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "models": {},
    }
    previous = json.loads(Path(args.out).read_text()) if Path(args.out).exists() else {}
    if previous.get("quick") == args.quick and previous.get("train_images") == results["train_images"]:
        # re-running some models keeps the others' rows from the earlier run (same data, same mode)
        results["models"] = {k: v for k, v in previous.get("models", {}).items() if k not in args.models}
    save = Path(args.save) if args.save else None
    for name in args.models:
        results["models"][name] = bench_model(name, data, args.seed, save) | {"command": results["command"]}
        results["machine"]["load_average_now"] = list(os.getloadavg())
        atomic_write_json(Path(args.out), results)  # keep what is done if a later model is interrupted
    results["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    atomic_write_json(Path(args.out), results)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
