"""``digits ensemble``: one ONNX model that averages several models' probabilities."""

from __future__ import annotations

HELP = "Combine models into one ONNX ensemble that averages their calibrated probabilities."


def add_arguments(p) -> None:
    p.add_argument("models", nargs="+", metavar="MODEL", help="member models: .onnx files or folders (two or more)")
    p.add_argument("--out", required=True, help="output .onnx file (its card is written beside it)")
    p.add_argument("--data-dir", default=None, help="MNIST folder for the validation figures (default: $DIGITS_DATA_DIR, then the user cache)")
    p.add_argument("--no-validate", action="store_true", help="skip measuring validation accuracy and fitting the temperature")


def run(args) -> int:
    import sys
    from pathlib import Path

    import onnxruntime as ort

    from handwritten_digits import modelcard
    from handwritten_digits.cli import command_line
    from handwritten_digits.runtime import Recognizer
    from handwritten_digits.training.ensemble import build_ensemble

    members = [modelcard.resolve(m) for m in args.models]
    out = Path(args.out)
    data, card = build_ensemble(members, name=out.stem)
    card["command"] = "digits " + " ".join(command_line(args, "ensemble"))
    if not args.no_validate:
        from handwritten_digits.data import load_dataset
        from handwritten_digits.training.mixture import calibrate

        recognizer = Recognizer(ort.InferenceSession(data, providers=["CPUExecutionProvider"]), card, out)
        fields = calibrate(recognizer, load_dataset("val", args.data_dir))
        card.update(fields)
        print(f"validation accuracy {fields['metrics']['val']['accuracy']:.4%}", file=sys.stderr)
    path = modelcard.save_model(data, card, out if out.suffix == ".onnx" else out / f"{card['name']}.onnx")
    print(path)
    return 0
