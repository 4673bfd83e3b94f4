"""The pure parts of benchmarks/bench_reliability.py and its README section: no server, no subprocess."""

from __future__ import annotations

import io
import stat

import pytest

from benchmarks import bench_reliability as rel
from benchmarks import fuzz_api, malformed
from benchmarks.readme_reliability import reliability_section


def test_malformed_files_yield_every_promised_kind(tmp_path):
    kinds = malformed.malformed_files(tmp_path / "m", count=120)
    assert len(kinds) == 120
    assert set(kinds.values()) == set(malformed.KINDS)
    folder = tmp_path / "m"
    by_kind = {}
    for name, kind in kinds.items():
        by_kind.setdefault(kind, []).append(folder / name)
    assert all(stat.S_ISFIFO((folder / n).lstat().st_mode) for n in kinds if kinds[n] == "fifo")
    assert all(p.is_dir() for p in by_kind["directory"]) and all(p.suffix == ".png" for p in by_kind["directory"])
    assert all(p.is_symlink() for p in by_kind["symlink_loop"])
    assert all(p.stat().st_size == 0 for p in by_kind["empty"])
    assert all(set(p.read_bytes()) == {0} for p in by_kind["zero_bytes"])
    assert all(p.read_bytes().startswith(b"%!PS") and p.suffix in (".png", ".jpg") for p in by_kind["eps_as_png"])
    samples = malformed._samples()
    for p in by_kind["truncated"]:  # a strict prefix of one sample
        data = p.read_bytes()
        assert any(len(data) < len(s) and s.startswith(data) for s in samples.values())
    lengths = {len(s) for s in samples.values()}
    for p in by_kind["bit_flip"]:  # damaged in place: a sample's length, not a sample's bytes
        assert len(p.read_bytes()) in lengths and p.read_bytes() not in samples.values()
    # a PNG named .jpg (or the JPEG named .png): the header says one format, the name another
    for p in by_kind["swapped_header"]:
        head = p.read_bytes()[:4]
        assert (head == b"\x89PNG") == (p.suffix == ".jpg")


def test_malformed_files_are_deterministic(tmp_path):
    a = malformed.malformed_files(tmp_path / "a", count=60, special=False)
    b = malformed.malformed_files(tmp_path / "b", count=60, special=False)
    assert a == b
    assert all((tmp_path / "a" / n).read_bytes() == (tmp_path / "b" / n).read_bytes() for n in a)


def test_bomb_headers_declare_huge_sizes():
    from PIL import Image

    with pytest.raises(Exception):
        with Image.open(io.BytesIO(malformed.bomb_png(100_000, 100_000))) as img:
            img.load()
    import struct

    assert struct.unpack(">II", malformed.bomb_png(65_535, 7)[16:24]) == (65_535, 7)


def test_feedback_body_is_a_form_with_image_and_label():
    png = rel.digit_png(3)
    from PIL import Image

    assert Image.open(io.BytesIO(png)).size == (28, 28)
    body, ctype = rel.multipart(png, 3)
    assert ctype.startswith("multipart/form-data; boundary=")
    assert b'name="image"' in body and b'name="label"\r\n\r\n3\r\n' in body and png in body


def test_status_classes():
    assert fuzz_api.status_classes([200, 201, 422, 400, 500, "TimeoutError"]) == {
        "2xx": 2, "4xx": 2, "5xx": 1, "TimeoutError": 1}


def test_probes_from_worst(tmp_path):
    missing = rel.probes_from_worst(tmp_path / "worst.json")
    assert missing["source"] is None
    path = tmp_path / "worst.json"
    path.write_text('{"command": "python -m benchmarks.bench_worst", "targets": {"healthz_p99_ms": 100},'
                    ' "server": {"in_flight": 8, "healthz_with_worst_in_flight": {"count": 9, "p50_ms": 2, "p99_ms": 11,'
                    ' "max_ms": 27.2}, "healthz_within_target": true}}')
    got = rel.probes_from_worst(path)
    assert got["worst_latency_ms"] == 27.2 and "not re-measured" in got["source"]


RESULTS = {
    "reliability": {
        "command": "python -m benchmarks.bench_reliability",
        "fuzz": {"max_examples_per_operation": 100, "seconds": 61.0, "requests": 5432,
                 "statuses": {"2xx": 3000, "4xx": 2432}, "server_errors_5xx": 0, "check_failures": 0},
        "malformed_files": {"files": 1000, "batches": 4, "kinds": {"truncated": 330, "fifo": 1}, "error_records": 801,
                            "readings": 199, "files_without_record": 0, "tracebacks": 0, "undocumented_exits": 0,
                            "posted": {"posted": 200, "statuses": {"2xx": 50, "4xx": 150}, "server_errors_5xx": 0}},
        "probes": {"in_flight": 8, "healthz_with_worst_in_flight": {"count": 228, "p50_ms": 2.18, "p99_ms": 10.96,
                                                                    "max_ms": 27.21}},
        "feedback_under_load": {"sent": 1000, "concurrency": 1000, "seconds": 4.2, "acknowledged_201": 998,
                                "rows_stored": 998, "lost": 0, "server_errors_5xx": 0, "integrity_check": "ok"},
        "server_stderr_tracebacks": 0, "server_alive_after": True,
    }
}


def test_section_renders_the_results_numbers():
    text = reliability_section(RESULTS)
    for figure in ("5,432 requests", "2xx 3,000", "0 server errors", "1,000 files", "801 one-line error records",
                   "199 readings", "0 tracebacks", "27.2 ms", "p99 11.0 ms", "998 acknowledged 201", "99.8%",
                   "998 rows in SQLite", "integrity check ok", "0 lost", "was still up"):
        assert figure in text, figure
    assert "not measured" not in text


def test_section_without_results_says_not_measured():
    assert "not measured" in reliability_section({})
    assert "bench_reliability" in reliability_section({})
    assert "not measured" in reliability_section({"reliability": {"_error": "unreadable"}})
    partial = reliability_section({"reliability": {"command": "x", "fuzz": {"error": "boom"}}})
    assert "failed to run" in partial and "not measured" in partial
