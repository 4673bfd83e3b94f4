"""``digits predict``: read the digits in images."""

from __future__ import annotations

HELP = "Read handwritten digits and numbers in images (files, folders, globs, or - for standard input)."


def add_arguments(p) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH", help="image files, folders, globs, or - for the image bytes on stdin")
    p.add_argument("--recursive", "-r", action="store_true",
                   help="search folders and ** globs in subfolders too (default: a folder's own images only)")
    p.add_argument("--single", action="store_true", help="treat each whole image as one digit instead of reading a number")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="one JSON object per input per line: path, text, digits (or error)")
    fmt.add_argument("--csv", action="store_true", help="CSV rows: path,text,confidences,error")
    p.add_argument("--min-confidence", type=float, default=None, metavar="X",
                   help="digits less confident than X (0-1) become '?' and are marked rejected (default: accept all)")
    p.add_argument("--model", default="default", help="bundled name (default, accurate, default-int8), .onnx file or folder (default: default)")
    p.add_argument("--save-inputs", default=None, metavar="DIR", help="save the 28x28 images the model saw as PNGs here")
    p.add_argument("--threads", type=int, default=None, help="ONNX Runtime threads (default: all cores)")


def expand(paths: list[str], recursive: bool = False) -> list[str]:
    """Files for the given paths: folders' images (all subfolders if ``recursive``), globs expanded, '-' kept.

    A path that matches nothing is kept as it is, so it fails later with a clear message.
    """
    import glob
    from pathlib import Path

    from handwritten_digits.data.folder import IMAGE_SUFFIXES

    out = []
    for item in paths:
        if item == "-":
            out.append(item)
        elif Path(item).is_dir():
            files = Path(item).rglob("*") if recursive else Path(item).glob("*")
            found = sorted(str(f) for f in files if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
            out += found or [item]  # an empty folder is reported, not silently skipped
        elif any(ch in item for ch in "*?[") and not Path(item).exists():
            out += sorted(f for f in glob.glob(item, recursive=recursive) if Path(f).is_file()) or [item]
        else:
            out.append(item)
    return out


def run(args) -> int:
    import csv
    import json
    import sys
    from pathlib import Path

    from handwritten_digits.errors import DigitsError
    from handwritten_digits.results import ReadResult
    from handwritten_digits.runtime import Recognizer

    if args.min_confidence is not None and not 0 <= args.min_confidence <= 1:
        raise DigitsError("--min-confidence must be between 0 and 1")
    recognizer = Recognizer.load(args.model, threads=args.threads)
    writer = csv.writer(sys.stdout) if args.csv else None
    if writer:
        writer.writerow(["path", "text", "confidences", "error"])
    failures = 0
    for path in expand(args.paths, args.recursive):
        try:
            source = sys.stdin.buffer.read() if path == "-" else path
            if path != "-" and Path(path).is_dir():
                raise DigitsError(f"{path}: no images in this folder" + ("" if args.recursive else " (try --recursive)"))
            if path != "-" and not Path(path).exists():
                raise DigitsError(f"{path}: no such file")
            if args.single:
                digit = recognizer.classify(source, args.min_confidence)
                result = ReadResult([digit] if digit else [])
            else:
                result = recognizer.read(source, args.min_confidence)
        except Exception as exc:  # DigitsError or anything unexpected: one bad file never stops the batch, never a traceback
            failures += 1
            text = str(exc) if isinstance(exc, DigitsError) else f"cannot process ({type(exc).__name__}: {exc})"
            text = " ".join(text.split())  # one line
            message = text if text.startswith(path) else f"{path}: {text}"
            if args.json:
                print(json.dumps({"path": path, "error": message}), flush=True)
            elif writer:
                writer.writerow([path, "", "", message])
            print(f"digits: error: {message}", file=sys.stderr)
            continue
        if args.save_inputs:
            try:
                _save_inputs(result, Path(args.save_inputs), "stdin" if path == "-" else Path(path).stem)
            except OSError as exc:
                raise DigitsError(f"{args.save_inputs}: cannot save inputs ({exc.strerror or exc})") from None
        confidences = " ".join(f"{d.confidence:.3f}" for d in result.digits)
        if args.json:
            print(json.dumps({"path": path, **result.to_dict()}), flush=True)
        elif writer:
            writer.writerow([path, result.text, confidences, ""])
        else:
            print(f"{path}: {result.text or '(no digit found)'}" + (f"  ({confidences})" if result.digits else ""), flush=True)
    return 1 if failures else 0


def _save_inputs(result, folder, stem: str) -> None:
    import numpy as np
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for i, d in enumerate(result.digits):
        Image.fromarray((np.clip(d.image, 0, 1) * 255).astype(np.uint8)).save(folder / f"{stem}-{i}-{d.char}.png")
