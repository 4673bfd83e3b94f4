"""Open set and writers: does the model answer "not a digit" to marks that are not digits, and keep the digits?

Digit sources (never trained, tuned or chosen on): MNIST test, USPS test (``zip.test``), Semeion and
scikit-learn's ``load_digits`` (other writers, 8x8); beside them the held-out validation writers of
pendigits and optdigits (the model was *chosen* on those, so they are not a test). Per source:

* ``accuracy``: the digit read right (a digit answered "not a digit" counts as wrong);
* ``rejected``: share answered "not a digit" (the model's class, at the card's threshold);
* ``accuracy_kept``: accuracy on the digits not rejected; ``ece``: expected calibration error of
  the calibrated probabilities over every class the model has.

Marks that are not digits, generated (:mod:`handwritten_digits.data.negatives`, a seed no training
run uses; parts cut from MNIST test digits):

* ``inputs``: model inputs, share rejected by the model (per kind);
* ``images``: whole images read by the reader (``Reader.read``), share where nothing is read as a
  digit (per kind): what a user of the page or the CLI sees;
* ``several``: pieces holding several digits (touching pairs, columns) as model inputs, share not
  read as one digit (the model's "not a digit" or "several digits"). As whole images they are
  numbers, read by cutting them, so they are not among the images.

The risk-coverage curves (error among the digits kept, against the share kept, as the confidence
needed rises) and the trade-off of the "not a digit" threshold go to ``results/plots/openset.png``;
figures to ``results/openset.json``.

    python -m benchmarks.bench_openset                  # the bundled default model
    python -m benchmarks.bench_openset --model runs/x   # another model
    python -m benchmarks.bench_openset --quick          # small sets, a smoke run
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results" / "openset.json"
PLOT = Path(__file__).parent / "results" / "plots" / "openset.png"
SEED = 20261202  # the negatives' seed: no training run uses it
TARGETS = {"mnist-test": 0.005, "usps-test": 0.01}  # digits rejected at most (the bounds)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def digit_sources(quick: bool) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every digit source this benchmark scores: name -> (images (N, 28, 28), labels)."""
    from sklearn.datasets import load_digits

    from handwritten_digits.data import load_dataset, load_eval_set
    from handwritten_digits.data.external import to_mnist
    from handwritten_digits.data.writers import load_writers

    sets = {"mnist-test": load_dataset("test"), "usps-test": load_eval_set("usps-test"), "semeion": load_eval_set("semeion")}
    sk = load_digits()
    sets["sklearn-digits"] = (to_mnist(sk.images / 16.0), sk.target.astype(np.int64))
    for source in ("pendigits", "optdigits"):
        sets[f"{source}-val"] = load_writers(source, "val")
    if quick:
        sets = {k: (x[:500], y[:500]) for k, (x, y) in sets.items()}
    return sets


def score_source(recognizer, images: np.ndarray, labels: np.ndarray) -> tuple[dict, np.ndarray]:
    """A source's figures, and its calibrated probabilities (N, classes)."""
    from handwritten_digits.evaluation.calibration import expected_calibration_error
    from handwritten_digits.runtime import in_batches

    probs = in_batches(recognizer.probabilities, images)
    rejected = recognizer.not_digit(probs=probs)
    right = probs[:, :10].argmax(1) == labels
    kept = ~rejected
    return {
        "n": int(len(labels)),
        "accuracy": float((right & kept).mean()),
        "rejected": float(rejected.mean()),
        "accuracy_kept": float(right[kept].mean()) if kept.any() else None,
        "ece": expected_calibration_error(probs, labels),
    }, probs


def by_kind(kinds, rejected) -> dict:
    out = {}
    for kind in sorted(set(kinds)):
        mask = np.asarray([k == kind for k in kinds])
        out[kind] = {"n": int(mask.sum()), "rejected": float(np.asarray(rejected)[mask].mean())}
    return out


def score_marks(recognizer, reader, n_inputs: int, n_images: int, digits: np.ndarray) -> tuple[dict, np.ndarray]:
    """Generated marks that are not digits: as model inputs, and as whole images read by the reader."""
    from tqdm import tqdm

    from handwritten_digits.data.negatives import KINDS, SEVERAL, negative_images, negative_inputs, several_digits
    from handwritten_digits.runtime import in_batches

    inputs, kinds = negative_inputs(n_inputs, seed=SEED, digits=digits)
    several = several_digits(kinds)
    all_probs = in_batches(recognizer.probabilities, inputs)
    probs, names = all_probs[~several], [KINDS[k] for k in kinds[~several]]
    rejected = recognizer.not_digit(probs=probs)
    one_digit = all_probs[several].argmax(1) < 10
    images = [(im, kind) for im, kind in negative_images(n_images, seed=SEED + 1, digits=digits) if kind not in SEVERAL]
    read_none, ms = [], []
    for image, _kind in tqdm(images, desc="marks read", file=sys.stderr, leave=False):
        began = time.perf_counter()
        result = reader.read(image)
        ms.append((time.perf_counter() - began) * 1000)
        read_none.append(not result.digits)
    return {
        "inputs": {"n": len(names), "rejected": float(rejected.mean()), "by_kind": by_kind(names, rejected)},
        "several": {"n": int(several.sum()), "not_one_digit": float(1 - one_digit.mean()),
                    "by_kind": by_kind([KINDS[k] for k in kinds[several]], ~one_digit)},
        "images": {"n": len(images), "rejected": float(np.mean(read_none)), "ms_median": float(np.median(ms)),
                   "by_kind": by_kind([k for _, k in images], read_none)},
    }, probs


def risk_coverage(probs: np.ndarray, labels: np.ndarray, points: int = 101) -> dict:
    """Error among the digits kept against the share kept, keeping the most confident first."""
    confidence = probs[:, :10].max(1)
    wrong = probs[:, :10].argmax(1) != labels
    order = np.argsort(-confidence, kind="stable")
    errors = np.cumsum(wrong[order]) / np.arange(1, len(order) + 1)
    at = np.unique(np.linspace(1, len(order), points).round().astype(int)) - 1
    return {"coverage": [round(float((i + 1) / len(order)), 4) for i in at], "risk": [round(float(errors[i]), 5) for i in at]}


def threshold_tradeoff(digit_probs: dict[str, np.ndarray], mark_probs: np.ndarray) -> dict:
    """Share of digits (per source) and of marks rejected, as the "not a digit" threshold varies."""
    if mark_probs.shape[1] <= 10:
        return {}
    thresholds = np.round(np.linspace(0.02, 0.98, 49), 3)
    out = {"threshold": thresholds.tolist(), "marks": [float((mark_probs[:, 10] >= t).mean()) for t in thresholds]}
    for name, probs in digit_probs.items():
        out[name] = [float((probs[:, 10] >= t).mean()) for t in thresholds]
    return out


def plot(res: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from handwritten_digits.fileio import atomic_write_png

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for name, curve in res["risk_coverage"].items():
        left.plot(curve["coverage"], np.asarray(curve["risk"]) * 100, label=name)
    left.set(xlabel="share of digits kept (most confident first)", ylabel="error among kept (%)",
             title="Risk-coverage per source", xlim=(0.5, 1.0))
    left.set_yscale("symlog", linthresh=0.1)
    left.set_ylim(bottom=0)
    left.legend(fontsize=8)
    trade = res.get("threshold_tradeoff") or {}
    if trade:
        for name in ("mnist-test", "usps-test", "semeion", "sklearn-digits"):
            if name in trade:
                right.plot(np.asarray(trade[name]) * 100, np.asarray(trade["marks"]) * 100, marker=".", label=name)
        chosen = res["model"].get("not_digit_threshold")
        if chosen is not None:
            for name in ("mnist-test", "usps-test"):
                right.plot(res["digits"][name]["rejected"] * 100, res["marks"]["inputs"]["rejected"] * 100, "k*", ms=10)
        right.set(xlabel="digits rejected (%)", ylabel="marks that are not digits rejected (%)",
                  title="'Not a digit' threshold (star: the model's)")
        right.set_xscale("symlog", linthresh=0.1)
        right.legend(fontsize=8)
    else:
        right.text(0.5, 0.5, "this model has no 'not a digit' class", ha="center", va="center")
        right.set_axis_off()
    fig.tight_layout()
    atomic_write_png(fig, path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", default="default", help="bundled name, .onnx file or folder")
    p.add_argument("--marks", type=int, default=5000, help="generated marks read as model inputs")
    p.add_argument("--mark-images", type=int, default=500, help="generated marks read as whole images by the reader")
    p.add_argument("--quick", action="store_true", help="500 digits per source, 500 marks, 50 images")
    p.add_argument("--out", default=str(RESULTS), help="results JSON")
    p.add_argument("--plot", default=str(PLOT), help="PNG of the curves")
    p.add_argument("--replot", action="store_true", help="only draw the PNG again from the results JSON")
    args = p.parse_args(argv)
    if args.replot:
        import json

        plot(json.loads(Path(args.out).read_text()), Path(args.plot))
        return 0

    from handwritten_digits.data import load_dataset
    from handwritten_digits.fileio import atomic_write_json
    from handwritten_digits.reading.reader import Reader

    began = time.time()
    reader = Reader.load(args.model, threads=1)
    recognizer = reader.recognizer
    n_marks, n_images = (500, 50) if args.quick else (args.marks, args.mark_images)
    digits, probs, labels = {}, {}, {}
    for name, (images, labels[name]) in digit_sources(args.quick).items():
        digits[name], probs[name] = score_source(recognizer, images, labels[name])
        log(f"{name}: accuracy {digits[name]['accuracy']:.4%}, rejected {digits[name]['rejected']:.3%}")
    test_x, test_y = load_dataset("test")
    marks, mark_probs = score_marks(recognizer, reader, n_marks, n_images, test_x[test_y != 1])
    log(f"marks rejected: inputs {marks['inputs']['rejected']:.2%}, images {marks['images']['rejected']:.2%}")
    card = recognizer.card
    res = {
        "model": {"name": recognizer.name, "classes": len(card.get("classes", range(10))),
                  "not_digit_threshold": card.get("not_digit_threshold") if recognizer.open_set else None,
                  "trained_on": card.get("data", {}).get("dataset")},
        "digits": digits,
        "marks": marks,
        "targets": {"marks_rejected": 0.95, "digits_rejected": TARGETS},
        "risk_coverage": {name: risk_coverage(probs[name], labels[name]) for name in digits},
        "threshold_tradeoff": threshold_tradeoff(probs, mark_probs),
        "seed": SEED, "quick": args.quick,
        "command": "python -m benchmarks.bench_openset" + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip(),
        "machine": {"python": platform.python_version(), "cpu": platform.processor() or platform.machine()},
        "seconds": round(time.time() - began, 1),
    }
    atomic_write_json(Path(args.out), res)
    plot(res, Path(args.plot))
    log(f"wrote {args.out} and {args.plot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
