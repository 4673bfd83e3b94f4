"""Text scoring shared by the page benchmarks: one definition of "right" for our reader and its peers.

A reading is text in the reader's format: numbers on a line separated by one space, lines by ``"\\n"``.
realdev labels write a line break as `` | `` (:func:`expected` turns them into that format).

* ``exact``: the text equals the truth, structure included;
* ``exact_digits``: equal once all whitespace is dropped (grids are labelled cell by cell, so a reader
  that joins a row's cells into one number still gets its digits right);
* ``char_accuracy``: ``max(0, 1 - edit_distance(text, truth) / len(truth))`` on the text *with*
  structure, so a missing space or line break costs one edit like a wrong digit;
  ``char_accuracy_digits`` the same on digits only;
* ``line_matches``: lines read exactly, the reading's lines compared with the truth's position by
  position (a missed or extra line shifts every line below it, so they count as wrong too).
"""

from __future__ import annotations


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


def line_matches(text: str, truth: str) -> tuple[int, int]:
    """``(right, lines)``: how many of the truth's lines the reading has exactly, at the same position.

    Line ``i`` of ``text`` is compared with line ``i`` of ``truth``; lines beyond the truth's count
    nothing, and missing ones are wrong.
    """
    want = expected(truth).split("\n")
    got = text.split("\n")
    return sum(g == w for g, w in zip(got, want)), len(want)


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
