"""Why lines of generated pages are read wrong: the layout, the cutting into digits, or a digit misread.

A development tool: by default on pages of MNIST **validation** digits (``--split test`` reports on the
benchmark's pages). Each truth line is compared with the line read at its position, and the first cause
found is counted:

* ``lines``: the page's line count is wrong (its lines are not compared one by one);
* ``numbers``: the line holds another count of numbers (a number gap missed or invented);
* ``digits``: a number holds too many or too few digits (a digit cut in two, two read as one, one lost);
* ``misread``: the same structure, a digit read as another. Each misread digit is also read alone, as
  the 28x28 MNIST image the page drew it from: ``also_alone`` when the model misreads it there too (the
  digit itself is hard), ``page_only`` when only the page's version is misread (the page, the ink or the
  cutting changed it).

Results go to ``benchmarks/results/page-errors.json``; a PNG shows the page-only misreads, each as the
model saw it beside the MNIST original.

    python -m benchmarks.page_errors              # 200 validation pages
    python -m benchmarks.page_errors --split test # the bench_pages pages (report only: never tune on them)
    python -m benchmarks.page_errors --turn 15 --out /tmp/turned.json --plot /tmp/turned.png   # pages photographed turned
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"
CAUSES = ("lines", "numbers", "digits", "misread")


def line_cause(read: list, truth: list[str]) -> str | None:
    """The first cause of a wrong line (``read``: its NumberResults), or ``None`` when it is right."""
    if len(read) != len(truth):
        return "numbers"
    if any(len(n.digits) != len(t) for n, t in zip(read, truth)):
        return "digits"
    return "misread" if any(n.text != t for n, t in zip(read, truth)) else None


def run(pages: int, seed: int, split: str, model: str, data_dir=None, examples: int = 60,
        turn: float = 0.0) -> tuple[dict, list]:
    from tqdm import tqdm

    from handwritten_digits.data import load_dataset
    from handwritten_digits.data.pages import make_page
    from handwritten_digits.reading.reader import Reader

    digits = load_dataset(split, data_dir)
    reader = Reader.load(model, threads=1)
    by_kind, pairs, tiles = {}, Counter(), []
    misread = {"digits": 0, "also_alone": 0, "page_only": 0}
    total_lines = 0
    rng = np.random.default_rng(seed)  # iter_pages(pages, seed)'s pages, turned as bench_pages --turn turns them
    made = (make_page(rng, digits, turn=turn * (-1) ** k) for k in range(pages))
    for image, truth in tqdm(made, total=pages, desc="pages", file=sys.stderr):
        result = reader.read(image)
        kind = by_kind.setdefault(truth.kind, Counter())
        total_lines += len(truth.lines)
        if len(result.lines) != len(truth.lines):
            kind["lines"] += len(truth.lines)
            continue
        for got, want, mine in zip(result.lines, truth.lines, truth.line_sources):
            cause = line_cause(got.numbers, want)
            if cause:
                kind[cause] += 1
            if cause != "misread":
                continue
            read = [d for n in got.numbers for d in n.digits]
            wrong = [(d, k) for d, k in zip(read, mine) if d.digit != int(digits[1][k])]
            alone = reader.recognizer.predict_proba(np.stack([digits[0][k] for _, k in wrong]).astype(np.float32))
            for (d, k), probs in zip(wrong, alone):
                label = int(digits[1][k])
                misread["digits"] += 1
                pairs[f"{label}>{d.digit}"] += 1
                if int(probs.argmax()) != label:
                    misread["also_alone"] += 1
                else:
                    misread["page_only"] += 1
                    if len(tiles) < examples:
                        tiles.append((np.asarray(d.image).reshape(28, 28), digits[0][k], f"{label}>{d.digit}"))
    causes = sum(by_kind.values(), Counter())
    wrong_lines = sum(causes.values())
    return {
        "pages": pages, "seed": seed, "digits": f"MNIST {split}", "model": model, "turn": turn, "lines": total_lines,
        "lines_wrong": wrong_lines, "causes": {c: causes[c] for c in CAUSES},
        "by_kind": {k: {c: v[c] for c in CAUSES} for k, v in sorted(by_kind.items())},
        "misread": misread, "pairs": dict(pairs.most_common(15)),
    }, tiles


def montage(tiles: list, path: Path) -> None:
    """The page-only misreads: what the model saw (left) beside the MNIST original (right)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from handwritten_digits.fileio import atomic_write_png

    cols = 10
    rows = max(1, -(-len(tiles) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.2, rows * 0.8), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (seen, original, name) in zip(axes.flat, tiles):
        ax.imshow(np.hstack([seen, np.full((28, 2), 0.3), original]), cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(name, fontsize=7)
    fig.suptitle("Misread on the page only: the model's input (left), the MNIST digit it came from (right)", fontsize=8)
    fig.tight_layout()
    atomic_write_png(fig, path, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    from handwritten_digits.fileio import atomic_write_json

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=200, help="pages to generate (default 200)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the pages (default 0)")
    parser.add_argument("--split", default="val", choices=["val", "test"], help="MNIST digits the pages are built from (default val)")
    parser.add_argument("--turn", type=float, default=0.0,
                        help="photograph every sheet turned this many degrees, every other page the other way (default 0)")
    parser.add_argument("--model", default="default-int8", help="bundled name, .onnx file or folder (default default-int8)")
    parser.add_argument("--data-dir", default=None, help="MNIST folder (default: $DIGITS_DATA_DIR)")
    parser.add_argument("--out", type=Path, default=RESULTS / "page-errors.json", help="results JSON (default %(default)s)")
    parser.add_argument("--plot", type=Path, default=RESULTS / "plots" / "page-errors.png", help="PNG of the page-only misreads (default %(default)s)")
    args = parser.parse_args(argv)
    result, tiles = run(args.pages, args.seed, args.split, args.model, args.data_dir, turn=args.turn)
    result["command"] = "python -m benchmarks.page_errors" + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip()
    atomic_write_json(args.out, result)
    if tiles:
        montage(tiles, args.plot)
    m = result["misread"]
    print(f"{result['lines_wrong']} of {result['lines']} lines wrong: " + ", ".join(f"{c} {n}" for c, n in result["causes"].items())
          + f"; {m['digits']} digits misread, {m['also_alone']} also alone, {m['page_only']} on the page only")
    print(f"wrote {args.out}" + (f" and {args.plot}" if tiles else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
