"""compare_readings on two tiny hand-made records: no model, no data."""

from __future__ import annotations

import json

from benchmarks.compare_readings import box_shift, compare, main, markdown


def _row(set_, id_, label, text, boxes):
    return {"set": set_, "id": id_, "kind": "number", "label": label, "text": text, "boxes": boxes,
            "confidences": [0.9] * len(boxes), "ok": text == label.replace(" | ", "\n")}


BEFORE = {"reader": "old.Recognizer", "source": {"commit": "aaa"}, "images": [
    _row("canvas", "c0", "42", "47", [[0, 0, 10, 20], [20, 0, 30, 20]]),        # fixed after
    _row("canvas", "c1", "7", "7", [[0, 0, 40, 40]]),                           # box moves 5 px
    _row("canvas", "c2", "8", "8", [[0, 0, 40, 40]]),                           # box moves 1 px: same
    _row("canvas", "c3", "5", "5", [[0, 0, 40, 40]]),                           # broken after
    _row("realdev", "d0", "1 | 2", "12", [[0, 0, 5, 9], [0, 20, 5, 29]]),       # neither right
    _row("realdev", "d1", "3", "3", [[0, 0, 8, 8]]),                            # 1 px on an 8 px box
    _row("realdev", "gone", "9", "9", [[0, 0, 8, 8]]),
]}
AFTER = {"reader": "new.Reader", "source": {"commit": "bbb"}, "images": [
    _row("canvas", "c0", "42", "42", [[0, 0, 10, 20], [20, 0, 30, 20]]),
    _row("canvas", "c1", "7", "7", [[5, 0, 45, 40]]),
    _row("canvas", "c2", "8", "8", [[1, 1, 41, 41]]),
    _row("canvas", "c3", "5", "6", [[0, 0, 40, 40]]),
    _row("realdev", "d0", "1 | 2", "1 2", [[0, 0, 5, 9], [0, 20, 5, 29]]),
    _row("realdev", "d1", "3", "3", [[1, 0, 9, 8]]),
]}


def test_box_shift():
    assert box_shift([[0, 0, 10, 20]], [[0, 3, 10, 20]]) == (3, 0.15)
    assert box_shift([], []) == (0, 0.0)


def test_compare_counts_changes_and_moves():
    report = compare(BEFORE, AFTER)
    canvas, realdev = report["sets"]["canvas"], report["sets"]["realdev"]
    assert canvas == {"count": 4, "changed": 2, "fixed": 1, "broken": 1, "boxes_moved": 1,
                      "before_exact": 0.75, "after_exact": 0.75}
    assert realdev["changed"] == 1 and realdev["boxes_moved"] == 1 and realdev["before_exact"] == 0.5
    assert {(c["id"], c["right"]) for c in report["changed"]} == {("c0", "after"), ("c3", "before"), ("d0", "neither")}
    moved = {m["id"]: m for m in report["boxes_moved"]}
    assert set(moved) == {"c1", "d1"}
    assert moved["c1"]["max_shift_px"] == 5 and moved["d1"]["max_shift_rel"] == 0.125
    assert report["only_before"] == 1 and report["only_after"] == 0


def test_main_writes_json_and_markdown(tmp_path):
    (tmp_path / "b.json").write_text(json.dumps(BEFORE))
    (tmp_path / "a.json").write_text(json.dumps(AFTER))
    out, md = tmp_path / "cmp.json", tmp_path / "cmp.md"
    assert main([str(tmp_path / "b.json"), str(tmp_path / "a.json"), "--out", str(out), "--markdown", str(md)]) == 0
    assert json.loads(out.read_text())["sets"]["canvas"]["fixed"] == 1
    text = md.read_text()
    assert "| canvas | 4 | 0.7500 | 0.7500 | 2 | 1 | 1 | 1 |" in text
    assert "| realdev | d0 | `1⏎2` | `12` | `1 2` | neither |" in text
    assert text == markdown(compare(BEFORE, AFTER))
