"""README section on reading whole pages: ``pages.json`` (``bench_pages``; ``pages-turned.json``, the same
pages photographed turned: ``bench_pages --turn``), why lines are wrong
(``page-errors.json``, ``page_errors``), two photo situations the generator does not draw
(``photo-cases.json``, ``bench_photo_cases``) and the peers beside it (``peers.json``, ``bench_peers``, via
:mod:`benchmarks.readme_peers`)."""

from __future__ import annotations

from benchmarks import readme_peers
from benchmarks.readme import _missing, num, pct, usable

FILES = ("pages", "pages-turned", "photo-cases", "page-errors", "peers")


def reading_table(res: dict) -> str:
    read, layout = res.get("reading", {}), res.get("accuracy", {})
    rows = ["| paper | pages | line exact | page exact | character accuracy | layout: numbers per line right |",
            "|---|---:|---:|---:|---:|---:|"]
    for kind, row in {"all": read, **read.get("by_kind", {})}.items():
        lay = layout if kind == "all" else res.get("by_kind", {}).get(kind, {})
        rows.append(f"| {kind} | {row.get('pages', '—')} | {pct(row.get('line_exact'), 1)} | {pct(row.get('page_exact'), 1)} "
                    f"| {pct(row.get('char_accuracy'), 1)} | {pct(lay.get('numbers'), 1)} |")
    return "\n".join(rows)


def ours(res: dict) -> dict:
    """Our reader's figures in the shape of one ``peers.json`` entry (the peers table's first row)."""
    real = res.get("realdev") or {}
    return {"engine": {"name": f"handwritten-digits ({res.get('model', '—')})"}, "realdev": real,
            "pages": res.get("reading"),
            "ms_per_image": {"realdev_median": real.get("ms_median"), "pages_median": res.get("reading", {}).get("ms_median")}}


def errors_text(res: dict) -> str:
    """Why lines are wrong, from ``page-errors.json``."""
    causes, misread = res.get("causes", {}), res.get("misread", {})
    pairs = ", ".join(f"{k} ({v})" for k, v in list(res.get("pairs", {}).items())[:5])
    return (f"Why lines are wrong, on {res.get('pages')} pages of {res.get('digits')} digits (`{res.get('command')}`): "
            f"of {res.get('lines')} lines, {causes.get('lines', 0)} sit on pages read with the wrong number of lines, "
            f"{causes.get('numbers', 0)} have a number gap missed or invented, {causes.get('digits', 0)} a digit cut in two, "
            f"merged or lost, and {causes.get('misread', 0)} a digit misread. Of {misread.get('digits', 0)} misread digits, "
            f"{misread.get('also_alone', 0)} are misread alone too (as the 28×28 MNIST image) and "
            f"{misread.get('page_only', 0)} only on the page; most often {pairs}.")


def cases_text(res: dict) -> str:
    """Notes on a dark desk and numbers cropped tight, from ``photo-cases.json``."""
    desk, crops = res.get("desk", {}), res.get("crops", {})
    turns = "; ".join(f"{'upright' if float(t) == 0 else f'turned {num(float(t), 0)} degrees'} {r.get('lines_right')}/"
                      f"{r.get('lines')} lines, {r.get('pages_exact')}/{r.get('pages')} pages exact"
                      for t, r in desk.get("by_turn", {}).items())
    margins = ", ".join(f"{r.get('right')} at {m} px" for m, r in crops.get("by_margin", {}).items())
    return (f"Two photo situations the generator does not draw, on {res.get('digits')} digits (developed against; "
            f"`{res.get('command', '').strip()}`): note pages on a desk of gray {desk.get('gray')} showing all round them, "
            f"{turns}; {crops.get('numbers')} photo-like numbers cropped tight around the digits read, read as the "
            f"label: {margins} ({crops.get('right_uncropped')} uncropped).")


def alone_text(res: dict) -> str:
    a = res.get("alone")
    if not a:
        return ""
    return (f"\n\nWhom the wrong lines are down to: each digit read alone too, as the 28x28 MNIST image the page drew it "
            f"from ({pct(a.get('digit_accuracy'), 2)} of them read right), {a.get('lines_misread_alone')} of the "
            f"{a.get('lines')} lines hold a digit the model misreads there; the reader reads {a.get('of_them_read_right')} "
            f"of those right anyway (the page draws the digit otherwise). The other {a.get('lines_wrong_otherwise')} wrong "
            f"lines hold only digits the model reads right alone: the page cost them (ink, layout, cuts). "
            f"{a.get('pages_misread_alone')} of the {a.get('pages')} pages hold a digit misread alone "
            f"({a.get('of_them_pages_read_right')} of them read right anyway)" + _ceiling(a) + ".")


def _ceiling(a: dict) -> str:
    """What a reader that lost nothing on the page would reach: a line (a page) holding a digit the model
    misreads alone stays wrong, unless the reader read it right anyway."""
    try:
        lines = 1 - (a["lines_misread_alone"] - a["of_them_read_right"]) / a["lines"]
        pages = 1 - (a["pages_misread_alone"] - a["of_them_pages_read_right"]) / a["pages"]
    except (KeyError, TypeError, ZeroDivisionError):
        return ""
    return (f": a reader that lost nothing on the page would read at most {pct(lines, 1)} of lines and {pct(pages, 1)} "
            "of pages exact (the targets: 97% and 90%)")


def section(results: dict, image: str = "") -> str:
    res = usable(results, "pages")
    if not res:
        return "Whole pages: " + _missing("pages")
    read, ms = res.get("reading", {}), res.get("reading", {}).get("ms_per_page", {})
    real = res.get("realdev") or {}
    kinds = ", ".join(f"{k} {v.get('exact')}/{v.get('images')}" for k, v in real.get("by_kind", {}).items())
    text = (f"{res.get('pages')} pages generated from {res.get('digits')} digits (seed {res.get('seed')}; 1-8 lines of "
            f"1-4 numbers, or grids, on plain, ruled, squared and note paper, with slant, shadows, show-through, "
            f"perspective, blur, noise and JPEG), read by the served model on one thread (`python -m "
            f"benchmarks.bench_pages --realdev ../shared/data/realdev`): **line exact {pct(read.get('line_exact'), 1)}, "
            f"page exact {pct(read.get('page_exact'), 1)}** (targets 97% and 90%); a page takes "
            f"{num(ms.get('median'), 0, ' ms')} median, {num(ms.get('p95'), 0, ' ms')} p95, {num(ms.get('max'), 0, ' ms')} "
            f"at most.{alone_text(res)}\n\n" + reading_table(res))
    turned = usable(results, "pages-turned")
    if turned:
        t = turned.get("reading", {})
        text += (f"\n\nThe same pages photographed turned {num(turned.get('turn'), 0)} degrees, sheet and printed lines "
                 f"and all (every other page the other way; `python -m benchmarks.bench_pages --turn {num(turned.get('turn'), 0)} "
                 f"--out benchmarks/results/pages-turned.json`): line exact {pct(t.get('line_exact'), 1)}, page exact "
                 f"{pct(t.get('page_exact'), 1)}, character accuracy {pct(t.get('char_accuracy'), 1)}.")
    cases = usable(results, "photo-cases")
    if cases:
        text += "\n\n" + cases_text(cases)
    if real:
        text += (f"\n\nThe {real.get('all', {}).get('images', '—')} real photos of `../shared/data/realdev` (developed "
                 f"against, never tuned on): exact {kinds}; digits only {real.get('all', {}).get('exact_digits')}/"
                 f"{real.get('all', {}).get('images')}; character accuracy {pct(real.get('all', {}).get('char_accuracy'), 1)}.")
    errors = usable(results, "page-errors")
    if errors:
        text += "\n\n" + errors_text(errors) + image
    return text + "\n\n" + readme_peers.section(results, ours=ours(res) if real else None)
