"""``digits evaluate``: metrics, comparison table and a report with plots."""

from __future__ import annotations

HELP = "Evaluate one or more models on MNIST or another labelled set; --report writes plots and a Markdown report."


def add_arguments(p) -> None:
    p.add_argument("--model", action="append", default=None,
                   help="model to evaluate: bundled name (default, accurate, default-int8), .onnx file or folder; repeat to compare (default: default)")
    p.add_argument("--split", default="test", choices=["test", "val"], help="MNIST split (ignored with --dataset)")
    p.add_argument("--dataset", default=None, help="instead of MNIST: usps-test (USPS zip.test), semeion or folder:PATH (default: MNIST test)")
    p.add_argument("--data-dir", default=None, help="MNIST folder (default: $DIGITS_DATA_DIR, then the user cache)")
    p.add_argument("--external-dir", default=None, help="folder with usps/ and semeion/ (default: $DIGITS_EXTERNAL_DIR, then beside MNIST)")
    p.add_argument("--limit", type=int, default=None, help="evaluate the first N images only (default: all)")
    p.add_argument("--report", default=None, metavar="DIR", help="write metrics.json, report.md and PNG plots here")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object: the first model's metrics at top level (model, path, dataset, n, accuracy as a "
                        "fraction in [0, 1], ...) and every model's metrics, in --model order, as a list under 'models'")


def run(args) -> int:
    import json

    from handwritten_digits.data import load_eval_set
    from handwritten_digits.errors import DigitsError
    from handwritten_digits.evaluation.metrics import evaluate_probabilities
    from handwritten_digits.runtime import Recognizer, in_batches

    if args.limit is not None and args.limit < 1:
        raise DigitsError(f"--limit must be at least 1, got {args.limit}")
    recognizers = [Recognizer.load(spec) for spec in args.model or ["default"]]  # a bad path fails before data loads
    dataset = args.dataset or args.split
    images, labels = load_eval_set(dataset, args.data_dir, args.external_dir)
    if args.limit:
        images, labels = images[: args.limit], labels[: args.limit]
    if len(labels) == 0:
        raise DigitsError(f"dataset '{dataset}' has no labelled images")
    results, probs = {}, {}
    for recognizer in recognizers:
        name = _unique(recognizer.name, results)
        probs[name] = in_batches(recognizer.predict_proba, images, desc=name)
        results[name] = {"model": name, "path": str(recognizer.path), "dataset": dataset,
                         **evaluate_probabilities(labels, probs[name])}
    if args.report:
        from handwritten_digits.evaluation.report import write_report

        write_report(args.report, results, probs, images, labels, dataset)
    if args.json:
        first = next(iter(results.values()))
        print(json.dumps({**first, "models": list(results.values())}))
    else:
        print(f"{dataset}: {len(labels):,} images")
        print(f"{'model':<24} {'accuracy':>9} {'errors':>7} {'macro F1':>9} {'top-2':>8} {'log-loss':>9} {'ECE':>7} "
              f"{'reject for 0.1% error':>22}")
        for name, m in results.items():
            errors = round(m["error_rate"] * m["n"])
            print(f"{name:<24} {m['accuracy']:>9.2%} {errors:>7,} {m['macro_f1']:>9.4f} {m['top2_accuracy']:>8.2%} "
                  f"{m['log_loss']:>9.4f} {m['ece']:>7.4f} {m['error_reject']['reject_for_0.1%_error']:>22.1%}")
        if len(results) == 1:
            m = next(iter(results.values()))
            recall = m["per_class"]["recall"]
            worst = sorted(range(10), key=lambda k: recall[k])[:3]
            print("hardest digits (recall): " + ", ".join(f"{k} {recall[k]:.2%}" for k in worst))
        if args.report:
            print(f"report: {args.report}/report.md")
    return 0


def _unique(name: str, taken: dict) -> str:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "model"
    candidate, i = safe, 2
    while candidate in taken:
        candidate, i = f"{safe}-{i}", i + 1
    return candidate
