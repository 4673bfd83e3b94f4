"""CNN benchmarks: time to accuracy, inference throughput and cold start, on this machine.

1. Time to accuracy: a cold ``digits train --model cnn --recipe fast`` (for 99.0%) or ``--recipe
   medium`` (for 99.5%), timed from launch to exit: interpreter start, data loading, training,
   validation, ONNX export and model card, the whole command. The saved model is then scored on the
   10,000 MNIST test images through the ONNX runtime. The recipes are fixed in
   :mod:`handwritten_digits.training.config`; the test set never chose them. Beside them, PyTorch's
   ``examples/mnist`` recipe (:mod:`benchmarks.pytorch_example`), timed the same way to its first
   epoch at 99.0% test accuracy.
2. Inference throughput of one model (default: the bundled one): images/s through ONNX Runtime
   (:class:`~handwritten_digits.runtime.Recognizer`) vs the same network in PyTorch eager mode,
   in batches of 1,000 and one image at a time; plus its accuracy on MNIST test, USPS test (zip.test) and Semeion.
3. Cold start of ``digits predict one.png`` (median of several runs).

Results go to ``benchmarks/results/cnn.json``. Timings on a shared machine are only as good as
the machine is quiet: the load average is recorded with them.

    python -m benchmarks.bench_cnn                     # everything (~10 minutes on 2 cores)
    python -m benchmarks.bench_cnn --quick             # smoke run: small subsets, 1 epoch
    python -m benchmarks.bench_cnn --only throughput   # one part: time, example, throughput, coldstart
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.servers import cpu_model

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).parent / "results" / "cnn.json"
PARTS = ["time", "example", "throughput", "coldstart"]
# target test accuracy -> the `digits train` flags that aim at it (settings chosen on validation accuracy)
TARGETS = {
    0.990: ["--recipe", "fast"],
    0.995: ["--recipe", "medium"],
}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def digits_command() -> list[str]:
    script = Path(sys.executable).parent / "digits"
    return [str(script)] if script.exists() else [sys.executable, "-m", "handwritten_digits"]


def timed_train(flags: list[str], data_dir, quick: bool) -> dict:
    """Run ``digits train`` cold in a fresh process; wall seconds to a saved model and its test accuracy."""
    from handwritten_digits.data import load_dataset
    from handwritten_digits.runtime import Recognizer

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "fast"
        args = ["train", "--model", "cnn", *flags, *(["--limit", "5000", "--epochs", "1"] if quick else [])]
        command = [*digits_command(), *args, "--out", str(out), *(["--data-dir", str(data_dir)] if data_dir else [])]
        began = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        seconds = time.perf_counter() - began
        if done.returncode:
            raise RuntimeError(f"{' '.join(command)} failed: {done.stderr.strip().splitlines()[-1:]}")
        recognizer = Recognizer.load(out / "model.onnx")
        images, labels = load_dataset("test", data_dir)
        if quick:
            images, labels = images[:2000], labels[:2000]
        test_accuracy = float((recognizer.predict(images) == labels).mean())
    card = recognizer.card
    return {"command": "digits " + " ".join(args) + " --out DIR",
            "seconds": round(seconds, 2), "epochs": card["training"]["epochs"],
            "train_seconds_in_card": card["training"].get("seconds"),
            "val_accuracy": round(card["metrics"]["val"]["accuracy"], 5), "test_accuracy": round(test_accuracy, 5)}


def time_to_accuracy(data_dir, quick: bool) -> dict:
    rows = {}
    for target, flags in TARGETS.items():
        log(f"time to {target:.1%}: digits train {' '.join(flags)} ...")
        row = timed_train(flags, data_dir, quick)
        row |= {"target": target, "reached": row["test_accuracy"] >= target}
        rows[f"ours to {target:.1%}"] = row
        log(f"  {row['seconds']:.1f} s, val {row['val_accuracy']:.4%}, test {row['test_accuracy']:.4%}")
    return rows


def example_anchor(data_dir, quick: bool) -> dict:
    from benchmarks.pytorch_example import run, seconds_to

    log("PyTorch examples/mnist recipe, until 99.0% test accuracy (several minutes) ...")
    result = run(epochs=1 if quick else 14, stop_at=0.99, limit=5000 if quick else None, data_dir=data_dir, log=log)
    history = result["history"]
    return {"command": "python -m benchmarks.pytorch_example --stop-at 0.99" + (" --quick" if quick else ""),
            "seconds": seconds_to(history, 0.99) or history[-1]["seconds"], "epochs": history[-1]["epoch"],
            "test_accuracy": history[-1]["test_accuracy"], "target": 0.99, "reached": seconds_to(history, 0.99) is not None,
            "history": history}


def images_per_s(fn, images: np.ndarray, batch: int, min_seconds: float = 2.0) -> float:
    """Images per second of ``fn`` on batches, repeated for at least ``min_seconds`` after a warm-up."""
    fn(images[:batch])
    count, began = 0, time.perf_counter()
    while True:
        for i in range(0, len(images), batch):
            fn(images[i : i + batch])
            count += len(images[i : i + batch])
            if time.perf_counter() - began >= min_seconds and count >= batch:
                return count / (time.perf_counter() - began)


def throughput(model: str, weights: str | None, data_dir, external_dir, quick: bool) -> dict:
    import torch

    from handwritten_digits.data import load_dataset, load_eval_set
    from handwritten_digits.models.cnn import build_model
    from handwritten_digits.runtime import Recognizer
    from handwritten_digits.training.checkpoint import load_checkpoint

    recognizer = Recognizer.load(model)
    images, labels = load_dataset("test", data_dir)
    if quick:
        images, labels = images[:2000], labels[:2000]
    row = {"model": recognizer.name, "path": str(recognizer.path), "model_bytes": recognizer.path.stat().st_size,
           "test_accuracy": round(float((recognizer.predict(images) == labels).mean()), 5)}
    # measured as the test figure is: the card's own validation may be another set (a mixed one, with marks)
    vx, vy = load_dataset("val", data_dir)
    row["val_accuracy"] = round(float((recognizer.predict(vx) == vy).mean()), 5)
    for name in ("usps-test", "semeion"):
        try:
            x, y = load_eval_set(name, data_dir, external_dir)
            row[f"{name}_accuracy"] = round(float((recognizer.predict(x) == y).mean()), 5)
        except Exception as exc:  # the external sets are optional on a fresh machine
            log(f"{name}: skipped ({exc})")
    row["inference_images_per_s"] = round(images_per_s(recognizer.logits, images, 1000), 1)
    single = images[:300]
    row["onnx_single_images_per_s"] = round(images_per_s(recognizer.logits, single, 1, 1.0), 1)
    weights = Path(weights) if weights else recognizer.path.with_suffix(".pt")
    if recognizer.card.get("kind") == "cnn" and weights.exists():
        state = load_checkpoint(weights)
        net = build_model(**state["architecture"])
        net.load_state_dict(state["model"])
        net.eval()

        @torch.no_grad()
        def eager(batch: np.ndarray) -> np.ndarray:
            return net(torch.from_numpy(batch).unsqueeze(1)).numpy()

        np.testing.assert_allclose(eager(images[:64]), recognizer.logits(images[:64]), atol=1e-3)  # the same network
        row["torch_eager_images_per_s"] = round(images_per_s(eager, images, 1000), 1)
        row["torch_eager_single_images_per_s"] = round(images_per_s(eager, single, 1, 1.0), 1)
        row["onnx_speedup_batch"] = round(row["inference_images_per_s"] / row["torch_eager_images_per_s"], 2)
        row["onnx_speedup_single"] = round(row["onnx_single_images_per_s"] / row["torch_eager_single_images_per_s"], 2)
    else:
        log(f"{weights}: no PyTorch weights beside the model, eager throughput skipped")
    int8 = recognizer.path.with_name(recognizer.path.stem + "-int8.onnx")  # from `digits quantize`
    if int8.exists():
        quantized = Recognizer.load(int8)
        row["int8"] = {"model": quantized.name, "model_bytes": int8.stat().st_size,
                       "test_accuracy": round(float((quantized.predict(images) == labels).mean()), 5),
                       "images_per_s": round(images_per_s(quantized.logits, images, 1000), 1),
                       "command": quantized.card.get("command")}
        if row.get("torch_eager_images_per_s"):
            row["int8"]["speedup_vs_eager"] = round(row["int8"]["images_per_s"] / row["torch_eager_images_per_s"], 2)
    row["threads"] = {"torch": torch.get_num_threads(), "onnxruntime": "default (all cores)"}
    return row


def cold_start(runs: int) -> dict:
    sample = ROOT / "src" / "handwritten_digits" / "assets" / "samples" / "digit-7.png"
    command = [*digits_command(), "predict", str(sample)]
    times, output = [], ""
    for _ in range(runs):
        began = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        times.append(time.perf_counter() - began)
        if done.returncode:
            raise RuntimeError(f"digits predict failed: {done.stderr.strip()[-300:]}")
        output = done.stdout.strip()
    return {"command": "digits predict " + str(sample.relative_to(ROOT)), "runs": runs,
            "median_seconds": round(statistics.median(times), 3), "min_seconds": round(min(times), 3), "output": output}


def main(argv: list[str] | None = None) -> int:
    from handwritten_digits.fileio import atomic_write_json

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--quick", action="store_true", help="smoke run: 5,000 training images, 1 epoch, 2,000 test images")
    p.add_argument("--only", nargs="+", choices=PARTS, default=PARTS, help="parts to run (the others keep their earlier results)")
    p.add_argument("--model", default="default", help="model for throughput: bundled name, .onnx file or folder")
    p.add_argument("--weights", default=None, help="its PyTorch weights for the eager comparison (default: the .pt beside it)")
    p.add_argument("--data-dir", default=None, help="MNIST folder (default: $DIGITS_DATA_DIR, then the user cache)")
    p.add_argument("--external-dir", default=None, help="USPS/Semeion folder (default: $DIGITS_EXTERNAL_DIR)")
    p.add_argument("--cold-runs", type=int, default=5, help="cold starts of digits predict to take the median of")
    p.add_argument("--out", default=str(RESULTS), help="results JSON")
    args = p.parse_args(argv)

    out = Path(args.out)
    previous = json.loads(out.read_text()) if out.exists() else {}
    results = previous if previous.get("quick") == args.quick else {}
    results |= {"benchmark": "cnn", "quick": args.quick, "command": "python -m benchmarks.bench_cnn " + " ".join(sys.argv[1:] if argv is None else argv)}
    results["machine"] = {"cpus": os.cpu_count(), "cpu": cpu_model(), "platform": platform.platform(),
                          "python": platform.python_version(), "load_average_at_start": [round(v, 2) for v in os.getloadavg()]}
    tta = results.setdefault("time_to_accuracy", {})
    if "time" in args.only:
        tta.update(time_to_accuracy(args.data_dir, args.quick))
        atomic_write_json(out, results)
    if "example" in args.only:
        tta["pytorch example to 99.0%"] = example_anchor(args.data_dir, args.quick)
        atomic_write_json(out, results)
    ours, anchor = tta.get("ours to 99.0%"), tta.get("pytorch example to 99.0%")
    results.pop("speedup_to_99_vs_pytorch_example", None)
    if ours and anchor and ours["reached"] and anchor["reached"]:  # a ratio only between runs that got there
        results["speedup_to_99_vs_pytorch_example"] = round(anchor["seconds"] / ours["seconds"], 1)
    if "throughput" in args.only:
        row = throughput(args.model, args.weights, args.data_dir, args.external_dir, args.quick)
        results["models"] = {row["model"]: row}
        log(json.dumps(row, indent=2))
        atomic_write_json(out, results)
    if "coldstart" in args.only:
        results["cold_start"] = cold_start(2 if args.quick else args.cold_runs)
        log(f"cold start of digits predict: {results['cold_start']['median_seconds']} s (median)")
    results["machine"]["load_average_at_end"] = [round(v, 2) for v in os.getloadavg()]
    results["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    atomic_write_json(out, results)
    log(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
