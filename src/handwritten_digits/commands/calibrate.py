"""``digits calibrate``: fit a model's temperature (and its "not a digit" threshold) on validation again."""

from __future__ import annotations

HELP = ("Calibrate a model on validation data: its temperature and, for a model with a \"not a digit\" class, "
        "the probability from which a mark is answered \"not a digit\"; rewrites its card.")


def add_arguments(p) -> None:
    p.add_argument("model", help="a .onnx file or folder (bundled models are calibrated already)")
    p.add_argument("--data-dir", default=None, help="MNIST folder (default: $DIGITS_DATA_DIR, then the user cache)")
    p.add_argument("--seed", type=int, default=0, help="seed of the validation marks that are not digits (default: 0)")
    p.add_argument("--json", action="store_true", help="print the new card fields as JSON (default: a summary)")


def run(args) -> int:
    import json

    from handwritten_digits import modelcard
    from handwritten_digits.cli import command_line
    from handwritten_digits.data import load_dataset
    from handwritten_digits.errors import DigitsError
    from handwritten_digits.fileio import atomic_write_json
    from handwritten_digits.runtime import Recognizer
    from handwritten_digits.training.mixture import calibrate

    path = modelcard.resolve(args.model)
    if path.parent == modelcard.ASSETS:
        raise DigitsError(f"{args.model}: a bundled model; calibrate a copy of it")
    recognizer = Recognizer.load(path, checker=False)
    fields = calibrate(recognizer, load_dataset("val", args.data_dir), args.seed)
    card = dict(recognizer.card)
    card["metrics"] = {**card.get("metrics", {}), **fields.pop("metrics")}
    card.update(fields, calibrated_by="digits " + " ".join(command_line(args, "calibrate")))
    atomic_write_json(modelcard.card_path(path), card)
    if args.json:
        print(json.dumps(fields | {"val_rejected": card["metrics"].get("val_rejected")}, indent=2))
    else:
        extra = f", not a digit from {fields['not_digit_threshold']:.3f}" if "not_digit_threshold" in fields else ""
        print(f"{path}: temperature {fields['temperature']:.3f}{extra}")
    return 0
