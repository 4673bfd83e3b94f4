"""Compare two reading records (``benchmarks/record_readings.py``) image by image.

Per set: exact-text accuracy before and after; every image whose text changed (and which side is
right); every image whose text is the same but a box moved by more than ``--px`` pixels or more
than ``--rel`` of its size (the before box's larger side), with the largest coordinate shift.

    python -m benchmarks.compare_readings benchmarks/results/readings-before.json \\
        benchmarks/results/readings.json --markdown readings-compare.md
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from benchmarks.scoring import expected

RESULTS = Path(__file__).parent / "results" / "readings-compare.json"


def _ok(row: dict) -> bool:
    return row.get("ok", row.get("text") == expected(row["label"]))


def box_shift(before: list, after: list) -> tuple[int, float]:
    """Largest coordinate shift between paired boxes, in pixels and relative to the before box's size."""
    worst, worst_rel = 0, 0.0
    for b, a in zip(before, after):
        shift = max(abs(x - y) for x, y in zip(b, a))
        rel = shift / max(1, b[2] - b[0], b[3] - b[1])
        worst, worst_rel = max(worst, shift), max(worst_rel, rel)
    return worst, worst_rel


def compare(before: dict, after: dict, px: float = 2, rel: float = 0.1) -> dict:
    """The differences between two records: per-set accuracy, changed texts, moved boxes, counts."""
    old = {(r["set"], r["id"]): r for r in before["images"]}
    new = {(r["set"], r["id"]): r for r in after["images"]}
    sets: dict[str, dict] = {}
    changed, moved = [], []
    for key in sorted(old.keys() & new.keys()):
        b, a = old[key], new[key]
        s = sets.setdefault(key[0], {"count": 0, "before_right": 0, "after_right": 0, "changed": 0,
                                     "fixed": 0, "broken": 0, "boxes_moved": 0})
        s["count"] += 1
        s["before_right"] += _ok(b)
        s["after_right"] += _ok(a)
        if b.get("text") != a.get("text"):
            right = "before" if _ok(b) else "after" if _ok(a) else "neither"
            s["changed"] += 1
            s["fixed"] += right == "after"
            s["broken"] += right == "before"
            changed.append({"set": key[0], "id": key[1], "label": b["label"], "before": b.get("text"),
                            "after": a.get("text"), "right": right})
            continue
        shift, shift_rel = box_shift(b.get("boxes", []), a.get("boxes", []))
        if shift > px or shift_rel > rel:
            s["boxes_moved"] += 1
            moved.append({"set": key[0], "id": key[1], "text": b.get("text"), "max_shift_px": shift,
                          "max_shift_rel": round(shift_rel, 3), "before": b.get("boxes"), "after": a.get("boxes")})
    for s in sets.values():
        s["before_exact"] = round(s.pop("before_right") / s["count"], 4)
        s["after_exact"] = round(s.pop("after_right") / s["count"], 4)
    return {"before": _about(before), "after": _about(after), "rule": {"px": px, "rel": rel},
            "only_before": len(old.keys() - new.keys()), "only_after": len(new.keys() - old.keys()),
            "sets": sets, "changed": changed, "boxes_moved": moved}


def _about(record: dict) -> dict:
    source = record.get("source", {})
    return {"reader": record.get("reader"), "model": record.get("model"), "commit": source.get("commit"),
            "package": source.get("package"), "summary": record.get("summary", {})}


def _show(text) -> str:
    return "(error)" if text is None else "`" + text.replace("\n", "⏎") + "`" if text else "(empty)"


def markdown(report: dict) -> str:
    """The report as Markdown: a per-set table, then every changed text and every moved box."""
    lines = ["# Readings: before vs after", "",
             f"before: {report['before']['reader']} @ {report['before']['commit']}; "
             f"after: {report['after']['reader']} @ {report['after']['commit']}", "",
             "| set | images | exact before | exact after | text changed | fixed | broken | boxes moved |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, s in report["sets"].items():
        lines.append(f"| {name} | {s['count']} | {s['before_exact']:.4f} | {s['after_exact']:.4f} | {s['changed']} "
                     f"| {s['fixed']} | {s['broken']} | {s['boxes_moved']} |")
    lines += ["", f"## Text changed ({len(report['changed'])})", "",
              "| set | id | label | before | after | right |", "|---|---|---|---|---|---|"]
    lines += [f"| {c['set']} | {c['id']} | {_show(expected(c['label']))} | {_show(c['before'])} | {_show(c['after'])} "
              f"| {c['right']} |" for c in report["changed"]]
    rule = report["rule"]
    lines += ["", f"## Same text, a box moved by > {rule['px']} px or > {rule['rel']:.0%} of its size "
              f"({len(report['boxes_moved'])})", "", "| set | id | text | max shift px | of size |", "|---|---|---|---:|---:|"]
    lines += [f"| {m['set']} | {m['id']} | {_show(m['text'])} | {m['max_shift_px']} | {m['max_shift_rel']:.0%} |"
              for m in report["boxes_moved"]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("before", type=Path, help="record of the old code")
    parser.add_argument("after", type=Path, help="record of the new code")
    parser.add_argument("--out", type=Path, default=RESULTS, help="comparison JSON (written atomically)")
    parser.add_argument("--markdown", type=Path, default=None, help="also write the comparison as Markdown here")
    parser.add_argument("--px", type=float, default=2, help="a box moved: shift over this many pixels ...")
    parser.add_argument("--rel", type=float, default=0.1, help="... or over this fraction of its size")
    parser.add_argument("--change", default="", help="what changed between the records, for the README")
    args = parser.parse_args(argv)
    from handwritten_digits.fileio import atomic_write_json, atomic_write_text

    report = compare(json.loads(args.before.read_text()), json.loads(args.after.read_text()), args.px, args.rel)
    if args.change:
        report["change"] = args.change
    atomic_write_json(args.out, report)
    if args.markdown:
        atomic_write_text(args.markdown, markdown(report))
    for name, s in report["sets"].items():
        print(f"{name:<11} exact {s['before_exact']:.4f} -> {s['after_exact']:.4f}  changed {s['changed']} "
              f"(fixed {s['fixed']}, broken {s['broken']})  boxes moved {s['boxes_moved']}")
    if report["only_before"] or report["only_after"]:
        print(f"images in one record only: before {report['only_before']}, after {report['only_after']}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
