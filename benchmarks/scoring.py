"""Text scoring shared by the page benchmarks: one definition of "right" for our reader and its peers.

A reading is text in the reader's format: numbers on a line separated by one space, lines by ``"\\n"``.
realdev labels write a line break as `` | `` (:func:`expected` turns them into that format).

* ``exact``: the text equals the truth, structure included;
* ``exact_digits``: equal once all whitespace is dropped (grids are labelled cell by cell, so a reader
  that joins a row's cells into one number still gets its digits right);
* ``char_accuracy``: ``max(0, 1 - edit_distance(text, truth) / len(truth))`` on the text *with*
  structure, so a missing space or line break costs one edit like a wrong digit;
  ``char_accuracy_digits`` the same on digits only;
* ``line_matches`` (``lines_read`` line by line): lines read exactly, the reading's lines compared with
  the truth's position by position (a missed or extra line shifts every line below it, so they count as
  wrong too).

Every reader is scored on the same items (:func:`realdev_items`, or pages as ``{"id", "kind", "label",
"path"}``) by :func:`score_rows`, and summed up by :func:`summarize_realdev` / :func:`summarize_pages`.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np


def expected(label: str) -> str:
    """The text of a perfect reading of ``label``: realdev's `` | `` is a line break.

    Parameters
    ----------
    label : str
        A realdev label (``"12 7 | 345"``) or a text already in the reading format.

    Returns
    -------
    str
        Numbers separated by ``" "``, lines by ``"\\n"``.
    """
    return label.replace(" | ", "\n")


def digits_only(text: str) -> str:
    """``text`` with every space and line break removed."""
    return "".join(c for c in text if not c.isspace())


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: the fewest insertions, deletions and substitutions turning ``a`` into ``b``."""
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def char_accuracy(text: str, truth: str) -> float:
    """``max(0, 1 - edit_distance(text, truth) / len(truth))``; an empty truth scores 1 only when read as empty.

    Parameters
    ----------
    text, truth : str
        Compared as given: pass :func:`digits_only` of both for the digits-only variant.

    Returns
    -------
    float
        In [0, 1]; clipped at 0 because a reading longer than the truth can cost more edits than it has
        characters.
    """
    if not truth:
        return float(not text)
    return max(0.0, 1.0 - edit_distance(text, truth) / len(truth))


def lines_read(text: str, truth: str) -> list[bool]:
    """For each of the truth's lines, whether the reading has it exactly, at the same position.

    Line ``i`` of ``text`` is compared with line ``i`` of ``truth``; lines beyond the truth's count
    nothing, and missing ones are wrong.
    """
    want = expected(truth).split("\n")
    got = text.split("\n")
    return [k < len(got) and got[k] == w for k, w in enumerate(want)]


def line_matches(text: str, truth: str) -> tuple[int, int]:
    """``(right, lines)``: how many of the truth's lines the reading has exactly (:func:`lines_read`)."""
    right = lines_read(text, truth)
    return sum(right), len(right)


def score(text: str, label: str) -> dict:
    """Every text score of one reading against its label.

    Parameters
    ----------
    text : str
        The reading, in the reader's format.
    label : str
        The truth, as a realdev label or in the reading format.

    Returns
    -------
    dict
        ``exact``, ``exact_digits`` (bool), ``char_accuracy``, ``char_accuracy_digits`` (float).
    """
    truth = expected(label)
    plain, plain_truth = digits_only(text), digits_only(truth)
    return {"exact": text == truth, "exact_digits": plain == plain_truth,
            "char_accuracy": char_accuracy(text, truth), "char_accuracy_digits": char_accuracy(plain, plain_truth)}


# ---------------------------------------------------------------- image sets and summaries, for every reader


def realdev_items(folder: Path, limit: int | None = None) -> list[dict]:
    """realdev's images: ``{"id", "kind", "label", "path"}`` in ``labels.csv`` order."""
    with open(Path(folder) / "labels.csv", newline="") as f:
        rows = list(csv.DictReader(f))[:limit]
    return [{"id": r["file"], "kind": r["kind"], "label": r["label"], "path": str(Path(folder) / r["file"])} for r in rows]


def median_ms(rows: list[dict]) -> float | None:
    times = [r["ms"] for r in rows if "ms" in r]
    return round(float(np.median(times)), 1) if times else None


def summarize_realdev(rows: list[dict]) -> dict:
    """Exact and exact-digits counts, mean character accuracies, per kind and for all images."""
    def group(g):
        return {"images": len(g), "exact": sum(r["exact"] for r in g), "exact_digits": sum(r["exact_digits"] for r in g),
                "char_accuracy": round(float(np.mean([r["char_accuracy"] for r in g])), 4),
                "char_accuracy_digits": round(float(np.mean([r["char_accuracy_digits"] for r in g])), 4)}

    kinds = sorted({r["kind"] for r in rows})
    return {"all": group(rows), "by_kind": {k: group([r for r in rows if r["kind"] == k]) for k in kinds},
            "errors": sum("error" in r for r in rows)}


def summarize_pages(rows: list[dict]) -> dict:
    """Line exact (truth lines read exactly at their position, over all pages), page exact, character accuracy."""
    def group(g):
        right, total = sum(r["lines_right"] for r in g), sum(r["lines"] for r in g)
        return {"pages": len(g), "lines": total, "lines_right": right, "line_exact": round(right / total, 4),
                "page_exact": round(float(np.mean([r["exact"] for r in g])), 4),
                "page_exact_digits": round(float(np.mean([r["exact_digits"] for r in g])), 4),
                "char_accuracy": round(float(np.mean([r["char_accuracy"] for r in g])), 4),
                "char_accuracy_digits": round(float(np.mean([r["char_accuracy_digits"] for r in g])), 4)}

    kinds = sorted({r["kind"] for r in rows})
    return {**group(rows), "by_kind": {k: group([r for r in rows if r["kind"] == k]) for k in kinds},
            "errors": sum("error" in r for r in rows)}


def score_rows(items: list[dict], readings: dict) -> list[dict]:
    """One row per image: the reading, its time and its scores (an engine error reads as empty text)."""
    rows = []
    for item in items:
        reading = readings.get(item["path"], {"error": "no reading"})
        text = reading.get("text", "")
        right, lines = line_matches(text, item["label"])
        rows.append({"id": item["id"], "kind": item["kind"], "text": text, **score(text, item["label"]),
                     "lines_right": right, "lines": lines,
                     **{k: reading[k] for k in ("ms", "error") if k in reading}})
    return rows
