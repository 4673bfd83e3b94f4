"""benchmarks/bench_peers.py without the peers installed: detections to text, Tesseract's TSV, scoring.

The engines are stood in for by small scripts that print what the real ones print; one test runs the real
``--dry-run`` and is skipped unless ``make peers`` was run.
"""

from __future__ import annotations

import json
import shutil
import stat

import pytest

from benchmarks import bench_peers as bp

TSV = "\t".join(["level", "page_num", "block_num", "par_num", "line_num", "word_num", "left", "top", "width",
                 "height", "conf", "text"]) + "\n" + "\n".join("\t".join(map(str, row)) for row in [
    (1, 1, 0, 0, 0, 0, 0, 0, 800, 600, -1, ""),
    (4, 1, 1, 1, 1, 0, 10, 10, 500, 60, -1, ""),
    (5, 1, 1, 1, 1, 1, 300, 12, 80, 55, 91.2, "7"),  # words out of left-to-right order
    (5, 1, 1, 1, 1, 2, 10, 10, 200, 60, 88.0, "2026"),
    (5, 1, 1, 1, 1, 3, 420, 10, 30, 60, 10.0, " "),  # a blank word is no number
    (4, 1, 1, 1, 2, 0, 12, 100, 300, 70, -1, ""),
    (5, 1, 1, 1, 2, 1, 12, 100, 300, 70, 75.5, "31415"),
    (5, 1, 2, 1, 1, 1, 30, 300, 90, 50, 60.0, "42"),  # another block, lower down
]) + "\n"


def test_numbers_of_keeps_digits_and_the_detections_own_spaces():
    assert bp.numbers_of("S486") == ["486"]  # a letter read for a digit is lost
    assert bp.numbers_of("12 7a  ") == ["12", "7"]
    assert bp.numbers_of("１２ 3") == ["12", "3"]  # full-width digits are digits
    assert bp.numbers_of("#h") == [] and bp.numbers_of("") == []


def test_assemble_groups_lines_by_vertical_overlap_and_orders_them():
    detections = [
        ((300, 205, 380, 262), "5"),        # line 3, right
        ((10, 10, 200, 60), "2026"),        # line 1, left
        ((10, 200, 150, 250), "31 41"),     # line 3, left: two numbers in one detection
        ((250, 18, 330, 70), "7"),          # line 1, lower but overlapping it most
        ((40, 100, 120, 150), "abc"),       # letters only: no line at all
        ((40, 110, 160, 160), "88"),        # line 2
    ]
    assert bp.assemble(detections) == "2026 7\n88\n31 41 5"
    assert bp.assemble([]) == ""


def test_assemble_keeps_lines_apart_when_they_barely_touch():
    # 10 px of overlap between two 50 px high detections: less than half, so two lines
    assert bp.assemble([((0, 0, 50, 50), "1"), ((60, 40, 110, 90), "2")]) == "1\n2"
    assert bp.assemble([((0, 0, 50, 50), "1"), ((60, 20, 110, 70), "2")]) == "1 2"


def test_tesseract_lines_parses_words_into_one_detection_per_line():
    lines = bp.tesseract_lines(TSV)
    assert lines == [((10, 10, 380, 70), "2026 7"), ((12, 100, 312, 170), "31415"), ((30, 300, 120, 350), "42")]
    assert bp.assemble(lines) == "2026 7\n31415\n42"
    assert bp.tesseract_lines("") == [] and bp.tesseract_lines(TSV.splitlines()[0]) == []


def _script(path, body: str):
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def test_run_tesseract_calls_the_cli_per_image_and_parses_its_tsv(tmp_path):
    (tmp_path / "out.tsv").write_text(TSV)
    fake = _script(tmp_path / "tesseract",
                   f'[ "$1" = --version ] && {{ echo "tesseract 9.9.9"; exit 0; }}\n'
                   f'[ "$1" = bad.png ] && {{ echo "cannot read" >&2; exit 1; }}\n'
                   f'echo "$@" >> {tmp_path}/calls\ncat {tmp_path}/out.tsv\n')
    engine, readings = bp.run_tesseract(["a.png", "bad.png"], psm=11, binary=str(fake))
    assert engine["tesseract"] == "9.9.9" and "--psm 6" not in engine["command"]
    assert readings["a.png"]["text"] == "2026 7\n31415\n42" and readings["a.png"]["ms"] > 0
    assert readings["bad.png"] == {"error": "cannot read"}
    assert (tmp_path / "calls").read_text().split() == ["a.png", "stdout", "--psm", "11", "-c",
                                                       "tessedit_char_whitelist=0123456789", "tsv"]


def test_run_rapidocr_assembles_the_workers_detections(tmp_path):
    lines = [{"engine": {"rapidocr_onnxruntime": "0.0"}},
             {"path": "a.png", "ms": 12.5, "detections": [
                 {"box": [[200, 12], [260, 10], [262, 60], [201, 62]], "text": "7", "score": 0.9},
                 {"box": [[10, 10], [150, 10], [150, 60], [10, 60]], "text": "20 26", "score": 0.8}]},
             {"path": "b.png", "error": "LoadImageError: no"}]
    (tmp_path / "out.jsonl").write_text("\n".join(map(json.dumps, lines)) + "\n")
    fake = _script(tmp_path / "python", f"cat > /dev/null\ncat {tmp_path}/out.jsonl\n")
    engine, readings = bp.run_rapidocr(["a.png", "b.png"], python=fake)
    assert engine == {"name": "RapidOCR", "rapidocr_onnxruntime": "0.0"}
    assert readings == {"a.png": {"text": "20 26 7", "ms": 12.5}, "b.png": {"error": "LoadImageError: no"}}


@pytest.mark.slow
@pytest.mark.skipif(not bp.PEERS_PYTHON.exists() or shutil.which("tesseract") is None,
                    reason="peers not installed (make peers)")
def test_dry_run_with_the_real_peers(data_dir, tmp_path):
    realdev = bp.ROOT.parent / "shared" / "data" / "realdev"
    if not (realdev / "labels.csv").exists():
        pytest.skip("realdev not found")
    out = tmp_path / "peers.json"
    assert bp.main(["--dry-run", "--data-dir", str(data_dir), "--realdev", str(realdev), "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["quick"] and result["pages"] == 2 and result["realdev_images"] == 2
    for peer in ("rapidocr", "tesseract"):
        res = result["peers"][peer]
        assert res["realdev"]["all"]["images"] == 2 and res["pages"]["pages"] == 2
        assert res["ms_per_image"]["pages_median"] > 0


def test_readme_section_shows_each_reader_and_ours_first():
    from benchmarks import readme_peers

    entry = {"engine": {"name": "RapidOCR", "rapidocr_onnxruntime": "1.4.4"},
             "realdev": {"all": {"images": 50, "exact": 8, "exact_digits": 12, "char_accuracy": 0.44},
                         "by_kind": {"single": {"images": 10, "exact": 2}, "number": {"images": 25, "exact": 5},
                                     "multi": {"images": 15, "exact": 1}}},
             "pages": {"line_exact": 0.13, "page_exact": 0.01}, "ms_per_image": {"realdev_median": 1107.8, "pages_median": 637.9}}
    results = {"peers": {"command": "python -m benchmarks.bench_peers", "realdev_images": 50, "pages": 200,
                         "peers": {"rapidocr": entry, "tesseract": {"engine": {"name": "Tesseract"}}}}}
    ours = {**entry, "engine": {"name": "ours"}, "pages": {"line_exact": 0.5, "page_exact": 0.25}}
    table = [line for line in readme_peers.section(results, ours=ours).splitlines() if line.startswith("| ")]
    assert [line.split(" | ")[0] for line in table] == ["| reader", "| ours", "| RapidOCR", "| Tesseract"]
    assert table[2] == "| RapidOCR | 2/10 | 5/25 | 1/15 | 12/50 | 44.0% | 13.0% | 1.0% | 1,108 / 638 |"
    assert "| 50.0% | 25.0% |" in table[1]
    assert table[3] == "| Tesseract | — | — | — | — | — | — | — | — / — |"  # nothing measured is shown as such
    assert "not measured yet" in readme_peers.section({}) and "not measured yet" in readme_peers.section(
        {"peers": {"_error": "peers.json: unreadable"}})
