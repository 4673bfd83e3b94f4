"""README section on "not a digit" and writers beyond MNIST: ``openset.json`` (``bench_openset``), beside
the bundled model's figures before the change (``openset-before.json``, same command on the old model) and
the ``accurate`` ensemble's (``openset-accurate.json``, ``bench_openset --model accurate``)."""

from __future__ import annotations

from benchmarks.readme import _missing, num, pct, usable

FILES = ("openset", "openset-before", "openset-accurate")
SOURCES = {
    "mnist-test": "MNIST test", "usps-test": "USPS test (zip.test)", "semeion": "Semeion",
    "sklearn-digits": "scikit-learn `load_digits`", "pendigits-val": "pendigits, 6 held-out writers (validation)",
    "optdigits-val": "optdigits, held-out writers (validation)",
}


def sources_table(res: dict, before: dict | None, ensemble: dict | None = None) -> str:
    rows = ["| source | digits | accuracy | rejected as not a digit | accuracy on the rest | calibration error (ECE) "
            "| accuracy before | `accurate` ensemble: accuracy (rejected) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|"]
    old, ens = (before or {}).get("digits", {}), (ensemble or {}).get("digits", {})
    for key, label in SOURCES.items():
        row = res.get("digits", {}).get(key)
        if row:
            other = ens.get(key, {})
            both = f"{pct(other.get('accuracy'))} ({pct(other.get('rejected'))})" if other else "—"
            rows.append(f"| {label} | {row['n']:,} | {pct(row.get('accuracy'))} | {pct(row.get('rejected'))} "
                        f"| {pct(row.get('accuracy_kept'))} | {num(row.get('ece'), 4)} | {pct(old.get(key, {}).get('accuracy'))} | {both} |")
    return "\n".join(rows)


def marks_table(res: dict, before: dict | None) -> str:
    marks = res.get("marks", {})
    old = (before or {}).get("marks", {})
    kinds = sorted(set(marks.get("inputs", {}).get("by_kind", {})) | set(marks.get("images", {}).get("by_kind", {})))
    rows = ["| kind | model inputs rejected | whole images with no digit read | images, before |", "|---|---:|---:|---:|"]
    for kind in ["all", *kinds]:
        if kind == "all":
            a, b, c = marks.get("inputs", {}), marks.get("images", {}), old.get("images", {})
        else:
            a, b = marks.get("inputs", {}).get("by_kind", {}).get(kind, {}), marks.get("images", {}).get("by_kind", {}).get(kind, {})
            c = old.get("images", {}).get("by_kind", {}).get(kind, {})
        rows.append(f"| {kind} | {pct(a.get('rejected'), 1)} | {pct(b.get('rejected'), 1)} | {pct(c.get('rejected'), 1)} |")
    return "\n".join(rows)


def section(results: dict, image: str = "") -> str:
    res = usable(results, "openset")
    if not res:
        return "Not a digit: " + _missing("openset")
    before, ensemble = usable(results, "openset-before"), usable(results, "openset-accurate")
    model = res.get("model", {})
    marks = res.get("marks", {})
    text = (f"The served model `{model.get('name')}` ({model.get('classes')} classes, trained on `{model.get('trained_on')}`) "
            f"answers **not a digit** when that class's calibrated probability reaches "
            f"{num(model.get('not_digit_threshold'), 3)} (chosen on validation). Marks that are not digits, generated "
            f"(letters, symbols, scribbles, shapes, paper and parts of digits; seed {res.get('seed')}; `{res.get('command')}`): "
            f"**{pct(marks.get('inputs', {}).get('rejected'), 1)} rejected** as model inputs (target 95%), and "
            f"{pct(marks.get('images', {}).get('rejected'), 1)} of {marks.get('images', {}).get('n')} whole images read with no "
            f"digit at all (before: {pct((before or {}).get('marks', {}).get('images', {}).get('rejected'), 1)}). "
            f"Pieces of several touching digits (pairs, columns) as model inputs: "
            f"{pct(marks.get('several', {}).get('not_one_digit'), 1)} not read as one digit (the reader cuts them).\n\n"
            + marks_table(res, before) + "\n\nDigits per source (rejected targets: at most 0.5% of MNIST test, 1% of USPS test; "
            "the validation writers chose the model, the others never touched it)" + _ensemble_note(ensemble) + ":\n\n"
            + sources_table(res, before, ensemble))
    return text + image


def _ensemble_note(ensemble: dict | None) -> str:
    if not ensemble:
        return ""
    model, marks = ensemble.get("model", {}), ensemble.get("marks", {})
    return (f"; the last column is the `accurate` ensemble `{model.get('name')}` (threshold "
            f"{num(model.get('not_digit_threshold'), 3)}; marks rejected as inputs {pct(marks.get('inputs', {}).get('rejected'), 1)}, "
            f"as whole images {pct(marks.get('images', {}).get('rejected'), 1)}; `{ensemble.get('command')}`)")
