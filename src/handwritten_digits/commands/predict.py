"""``digits predict``: read the digits in images."""

from __future__ import annotations

HELP = "Read handwritten digits and numbers in images (files, folders, globs, or - for standard input)."


PROGRESS_MIN = 20  # files: fewer than this are read too fast for a progress bar to help
FILES_PER_WORKER = 16  # by default, no more workers than this many files each: starting one costs ~0.5 s


def add_arguments(p) -> None:
    from handwritten_digits.batch import cpu_count

    p.epilog = ("Several files are read by --workers processes at once; the output keeps the input order.\n"
                "The progress bar (stderr) is erased when done, and never shown in a pipe or a log file.")
    p.add_argument("paths", nargs="+", metavar="PATH", help="image files, folders, globs, or - for the image bytes on stdin")
    p.add_argument("--recursive", "-r", action="store_true",
                   help="search folders and ** globs in subfolders too (default: a folder's own images only)")
    p.add_argument("--single", action="store_true", help="treat each whole image as one digit instead of reading a number (default: read numbers)")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true",
                     help="one JSON object per input per line: path, text, digits, lines (each with its numbers), marks "
                          "(ink that is not a digit), limits; "
                          "or path, error (default: text: 'path: line' for each line of the image, with its digits' confidences)")
    fmt.add_argument("--csv", action="store_true",
                     help="CSV, one row per number: path,line,number,text,confidence,x0,y0,x1,y1,error (line and number "
                          "count from 1; an image with no digit is one row with an empty text) (default: text)")
    p.add_argument("--min-confidence", type=float, default=None, metavar="X",
                   help="digits less confident than X (0-1) become '?' and are marked rejected (default: accept all)")
    p.add_argument("--model", default="default", help="bundled name (default, accurate, default-int8), .onnx file or folder (default: default)")
    p.add_argument("--save-inputs", default=None, metavar="DIR", help="save the 28x28 images the model saw as PNGs here (default: not saved)")
    p.add_argument("--workers", "-j", type=int, default=None, metavar="N",
                   help=f"processes reading files in parallel; 1 reads in this process (default: all {cpu_count()} "
                        f"cores, at most one per {FILES_PER_WORKER} files: starting a worker costs more than reading a few)")
    p.add_argument("--threads", type=int, default=None,
                   help="ONNX Runtime threads per process (default: all cores with one worker, 1 with several)")
    p.add_argument("--no-progress", action="store_true",
                   help=f"never show the progress bar (default: shown for {PROGRESS_MIN}+ files when stderr is a terminal)")


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
    import json
    import sys
    from pathlib import Path

    from tqdm import tqdm

    from handwritten_digits.batch import cpu_count, error_record, read_files
    from handwritten_digits.errors import DigitsError
    from handwritten_digits.reading.reader import Reader, ReaderSpec

    if args.min_confidence is not None and not 0 <= args.min_confidence <= 1:
        raise DigitsError("--min-confidence must be between 0 and 1")
    if args.workers is not None and args.workers < 1:
        raise DigitsError("--workers must be 1 or more")
    files = expand(args.paths, args.recursive)
    empty = {i for i, path in enumerate(files) if path != "-" and Path(path).is_dir()}  # expand kept empty folders
    to_read = [path for i, path in enumerate(files) if i not in empty]
    if args.workers is None:
        workers = min(cpu_count(), -(-len(to_read) // FILES_PER_WORKER))
    else:
        workers = min(args.workers, len(to_read))  # no idle workers
    workers = max(1, workers)
    if workers == 1:
        # in this process, as ever: the model is loaded here (a bad model fails at once) and not cached
        spec = _Loaded(Reader.load(args.model, threads=args.threads))
    else:
        # each worker loads its own reader; one ONNX Runtime thread each, as the workers fill the cores
        spec = ReaderSpec(args.model, threads=args.threads or 1)
    bar = tqdm(total=len(files), unit="file", desc="reading", file=sys.stderr, leave=False, delay=0.5,
               disable=True if args.no_progress or len(files) < PROGRESS_MIN else None)  # None: off unless a terminal

    def emit(text: str, stream) -> None:
        if bar.disable:
            stream.write(text)
            stream.flush()  # one line at a time, for whoever reads the pipe
        else:
            bar.write(text, file=stream, end="")  # clears the bar, writes, redraws it

    def records():
        found = read_files(to_read, spec, workers, single=args.single, min_confidence=args.min_confidence,
                           with_inputs=bool(args.save_inputs))
        try:
            for i, path in enumerate(files):
                if i in empty:
                    hint = "" if args.recursive else " (try --recursive)"
                    yield error_record(path, DigitsError(f"{path}: no images in this folder{hint}"))
                else:
                    yield next(found)
        finally:
            found.close()  # stops the workers

    failures = 0
    if args.csv:
        emit(_csv_line(CSV_HEADER), sys.stdout)
    try:
        for record in records():
            bar.update()
            path = record["path"]
            inputs = record.pop("inputs", None)
            if "error" in record:  # one bad file never stops the batch, never a traceback
                failures += 1
                if args.json:
                    emit(json.dumps(record) + "\n", sys.stdout)
                elif args.csv:
                    emit(_csv_line([path] + [""] * (len(CSV_HEADER) - 2) + [record["error"]]), sys.stdout)
                emit(f"digits: error: {record['error']}\n", sys.stderr)
                continue
            if args.save_inputs:
                try:
                    _save_inputs(record, inputs, Path(args.save_inputs), "stdin" if path == "-" else Path(path).stem)
                except OSError as exc:
                    raise DigitsError(f"{args.save_inputs}: cannot save inputs ({exc.strerror or exc})") from None
            if args.json:
                emit(json.dumps(record) + "\n", sys.stdout)
            elif args.csv:
                emit("".join(_csv_line(row) for row in csv_rows(record)), sys.stdout)
            else:
                emit(text_lines(record), sys.stdout)
    finally:
        bar.close()
    return 1 if failures else 0


class _Loaded:
    """A reader already loaded, passed where :func:`handwritten_digits.batch.read_file` takes a ReaderSpec."""

    def __init__(self, reader):
        self._reader = reader

    def reader(self):
        return self._reader


CSV_HEADER = ["path", "line", "number", "text", "confidence", "x0", "y0", "x1", "y1", "error"]


def text_lines(record: dict) -> str:
    """The plain output of one reading: ``path: text  (confidences)`` for each line of the image."""
    path, marks = record["path"], len(record.get("marks", []))
    note = "not a digit" if marks == 1 else f"{marks} marks, none a digit"
    if not record["lines"]:
        return f"{path}: ({note if marks else 'no digit found'})\n"
    out = []
    for line in record["lines"]:
        confidences = " ".join(f"{record['digits'][k]['confidence']:.3f}" for n in line["numbers"] for k in n["digits"])
        out.append(f"{path}: {line['text']}  ({confidences})\n")
    if marks:  # a page's letters, scribbles or shadows are named, never read
        out.append(f"{path}: (and {'1 mark that is' if marks == 1 else f'{marks} marks that are'} not a digit)\n")
    return "".join(out)


def csv_rows(record: dict) -> list[list]:
    """The ``--csv`` rows of one reading: one per number (see :data:`CSV_HEADER`)."""
    rows = [[record["path"], i, j, n["text"], f"{n['confidence']:.4f}", *n["box"], ""]
            for i, line in enumerate(record["lines"], 1) for j, n in enumerate(line["numbers"], 1)]
    return rows or [[record["path"], "", "", "", "", "", "", "", "", ""]]


def _csv_line(row: list[str]) -> str:
    import csv
    import io

    buffer = io.StringIO()
    csv.writer(buffer).writerow(row)  # the csv module's own quoting and \r\n line ends, as before
    return buffer.getvalue()


def _save_inputs(record: dict, inputs, folder, stem: str) -> None:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for i, (image, d) in enumerate(zip(inputs, record["digits"])):
        char = "?" if d["rejected"] else str(d["digit"])
        Image.fromarray(image).save(folder / f"{stem}-{i}-{char}.png")
