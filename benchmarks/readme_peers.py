"""README section on reading whole pages beside general OCR engines (``peers.json``, ``bench_peers``).

One row per reader; a caller adds our reader's row by passing ``ours``: a dict with the keys of one
entry of ``peers.json``'s ``peers`` (``engine.name``, ``realdev``, ``pages``, ``ms_per_image``),
scored by :mod:`benchmarks.scoring` like the peers.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.readme import _missing, load_results, num, pct, usable

KINDS = ("single", "number", "multi")
HEADER = ("| reader | realdev single exact | number exact | multi exact | all, digits only | realdev char accuracy "
          "| pages: line exact | page exact | ms per image (realdev / pages) |")


def _count(group: dict | None, key: str = "exact") -> str:
    return "—" if not group else f"{group.get(key, '—')}/{group.get('images', '—')}"


def row(name: str, entry: dict) -> str:
    """One table row from one reader's results (missing figures show as "—")."""
    real, pages, ms = entry.get("realdev") or {}, entry.get("pages") or {}, entry.get("ms_per_image") or {}
    kinds = real.get("by_kind", {})
    cells = [_count(kinds.get(k)) for k in KINDS] + [
        _count(real.get("all"), "exact_digits"), pct((real.get("all") or {}).get("char_accuracy"), 1),
        pct(pages.get("line_exact"), 1), pct(pages.get("page_exact"), 1),
        f"{num(ms.get('realdev_median'), 0)} / {num(ms.get('pages_median'), 0)}"]
    return f"| {name} | " + " | ".join(cells) + " |"


def section(results: dict | str | Path, ours: dict | None = None) -> str:
    """The peers table, from loaded results (:func:`benchmarks.readme.load_results`) or their folder.

    Parameters
    ----------
    results : dict or path
        ``{name: results file}``, or the folder of ``*.json`` results.
    ours : dict, optional
        Our reader's figures, in the shape of one peer entry; shown as the first row.
    """
    if not isinstance(results, dict):
        results = load_results(Path(results))
    res = usable(results, "peers")
    if not res:
        return "Peers on whole pages: " + _missing("peers")
    peers = res.get("peers", {})
    entries = ([(ours.get("engine", {}).get("name", "ours"), ours)] if ours else []) + [
        (entry.get("engine", {}).get("name", key), entry) for key, entry in peers.items()]
    lines = [HEADER, "|---|" + "---:|" * 8] + [row(name, entry) for name, entry in entries]
    versions = "; ".join(", ".join(f"{k} {v}" for k, v in entry.get("engine", {}).items()
                                   if k in ("rapidocr_onnxruntime", "onnxruntime", "tesseract")) for entry in peers.values())
    settings = res.get("settings", {})
    return (f"General OCR engines on the same images, scored alike (`{res.get('command', 'python -m benchmarks.bench_peers')}`; "
            f"{versions}; one thread each, Tesseract `--psm {settings.get('tesseract_psm', '—')}` with a digits whitelist): "
            f"the {res.get('realdev_images', '—')} realdev photos (exact text; digits only: spaces and line breaks "
            f"dropped; character accuracy = 1 − edit distance / truth length, with structure, mean per image) and "
            f"{res.get('pages', '—')} pages from {res.get('digits', '—')} digits (seed {res.get('seed', '—')}, the "
            "`bench_pages` pages; line exact: truth lines read exactly at their position). Only digits count: a "
            "peer's letters are dropped. Tesseract's time includes starting its CLI.\n\n" + "\n".join(lines))
