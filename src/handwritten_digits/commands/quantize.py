"""``digits quantize``: an int8 copy of a CNN for faster CPU inference."""

from __future__ import annotations

HELP = "Quantize a CNN (or ensemble) to int8 ONNX, calibrated on validation images; ~3x faster on CPU."


def add_arguments(p) -> None:
    p.add_argument("model", metavar="MODEL", help="bundled name (default, accurate), .onnx file or folder")
    p.add_argument("--out", required=True, help="output .onnx file (its card is written beside it)")
    p.add_argument("--calibration", type=int, default=1000, help="validation images that set activation ranges")
    p.add_argument("--data-dir", default=None, help="MNIST folder (default: $DIGITS_DATA_DIR, then the user cache)")
    p.add_argument("--json", action="store_true", help="print the new model card as JSON")


def run(args) -> int:
    import json
    import sys
    from pathlib import Path

    import onnxruntime as ort

    from handwritten_digits import modelcard
    from handwritten_digits.cli import command_line
    from handwritten_digits.data import load_dataset
    from handwritten_digits.errors import DigitsError
    from handwritten_digits.runtime import Recognizer
    from handwritten_digits.training.quantize import quantize_model, quantized_card

    if args.calibration < 1:
        raise DigitsError("--calibration must be at least 1")
    source = modelcard.resolve(args.model)
    out = Path(args.out)
    out = out if out.suffix == ".onnx" else out / f"{source.stem}-int8.onnx"
    images, labels = load_dataset("val", args.data_dir)
    data = quantize_model(source, images[: args.calibration])
    name = out.parent.name if out.stem == "model" and out.parent.name else out.stem  # a run folder names it, as training does
    card = quantized_card(source, min(args.calibration, len(images)), name)
    card["command"] = "digits " + " ".join(command_line(args, "quantize"))
    recognizer = Recognizer(ort.InferenceSession(data, providers=["CPUExecutionProvider"]), card, out)
    accuracy = float((recognizer.predict(images) == labels).mean())
    card["metrics"]["val"] = {"accuracy": accuracy, "n": len(labels)}
    path = modelcard.save_model(data, card, out)
    # measured alike (a card's own validation may be another set: a mixed one, with marks)
    float_accuracy = float((Recognizer.load(source, checker=False).predict(images) == labels).mean())
    print(f"MNIST validation accuracy {accuracy:.4%} (float model: {float_accuracy:.4%})", file=sys.stderr)
    print(json.dumps(card | {"path": str(path)}, indent=2) if args.json else path)
    return 0
