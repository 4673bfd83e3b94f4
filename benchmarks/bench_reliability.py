"""Reliability: fuzzed requests, malformed files, probes under the worst images, corrections under load.

Four measurements, each against the real thing on loopback where that is the honest way:

* **fuzzed requests**: schemathesis (every default check, all its phases) against a live ``digits serve``
  through its own ``/openapi.json``, bounded by ``--max-examples`` per operation and ``--fuzz-seconds``;
  every response is counted on the way back (an ``after_call`` hook): requests, status classes, 5xx,
  and the checks that failed;
* **malformed files**: about a thousand broken image files made from the bundled samples
  (:func:`malformed_files`: truncations, bit flips, swapped headers, zero bytes, decompression-bomb
  headers, wrong extensions, an EPS named .png, a FIFO, a directory named .png ...), read by the real
  ``digits predict --json`` in a few subprocess batches: one-line error records, readings, tracebacks in
  stderr, exit codes other than the documented 0/1/2; then a sample of them POSTed to the server: 5xx;
* **probes with the worst images in flight**: taken from ``benchmarks/results/worst.json``
  (``server.healthz_with_worst_in_flight``, measured by ``benchmarks.bench_worst``), not re-measured;
* **corrections under load**: ``--feedback-posts`` concurrent POSTs to ``/api/v1/feedback`` (a 28x28
  PNG and a label) on a server whose SQLite feedback DB lives in a temp folder; then the 201s against
  the rows in the DB and ``PRAGMA integrity_check``: lost = acknowledged minus stored.

Results go to ``benchmarks/results/reliability.json``.

    python -m benchmarks.bench_reliability            # ~3 minutes
    python -m benchmarks.bench_reliability --quick    # a smoke run (~1 minute)
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "reliability.json"
WORST = Path(__file__).parent / "results" / "worst.json"
SAMPLES = Path(__file__).resolve().parents[1] / "src" / "handwritten_digits" / "assets" / "samples"
DOCUMENTED_EXIT_CODES = (0, 1, 2)  # 0 all read, 1 some file failed, 2 usage or fatal error (errors.DigitsError)

# the kinds of malformed file :func:`malformed_files` makes (test_bench_reliability checks each appears)
KINDS = ("truncated", "bit_flip", "byte_garbage", "swapped_header", "zero_bytes", "empty", "bomb_header",
         "wrong_extension", "eps_as_png", "text_as_image", "fifo", "directory", "symlink_loop", "header_only")


# ---------------------------------------------------------------- malformed files


def _samples(folder: Path = SAMPLES) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    import struct
    import zlib

    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def bomb_png(width: int, height: int) -> bytes:
    """A valid PNG header declaring ``width`` x ``height`` pixels, with a tiny (bogus) image stream."""
    import struct
    import zlib

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", zlib.compress(b"\0" * 1024))
            + _png_chunk(b"IEND", b""))


def bomb_gif(width: int, height: int) -> bytes:
    import struct

    return b"GIF89a" + struct.pack("<HH", width, height) + b"\x00\x00\x00" + b";"


def bomb_bmp(width: int, height: int) -> bytes:
    import struct

    header = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 0, 0, 0, 0)
    return b"BM" + struct.pack("<IHHI", 54 + 64, 0, 0, 54) + header + b"\0" * 64


EPS = (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 28 28\nnewpath 4 4 moveto 24 24 lineto stroke\nshowpage\n"
       b"%%EOF\n")


def malformed_files(folder: Path, count: int = 1000, seed: int = 0, special: bool = True) -> dict[str, str]:
    """Write about ``count`` malformed image files into ``folder``; returns {file name: kind}.

    Built from the bundled samples: truncations at many offsets, single and multiple bit flips, runs of
    garbage bytes, swapped headers (a PNG named .jpg ...), all-zero files, empty files, headers alone,
    decompression-bomb headers (PNG/GIF/BMP declaring huge sizes), wrong extensions (.webp, .tif),
    an EPS and a text file named as images; with ``special``, a FIFO, a directory named .png and a
    symlink loop (things that are not files at all).
    """
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    samples = _samples()
    names = list(samples)
    kinds: dict[str, str] = {}

    def put(kind: str, suffix: str, data: bytes) -> None:
        name = f"{len(kinds):04d}-{kind}{suffix}"
        (folder / name).write_bytes(data)
        kinds[name] = kind

    def suffix_of(name: str) -> str:
        return Path(name).suffix

    # fixed kinds first, a handful each
    for name, data in samples.items():
        other = ".jpg" if suffix_of(name) == ".png" else ".png"
        put("swapped_header", other, data)
        put("wrong_extension", rng.choice([".webp", ".tif", ".gif", ".bmp"]), data)
        put("header_only", suffix_of(name), data[:8 if suffix_of(name) == ".png" else 4])
    for size in (1, 28, 1024, 65536):
        put("zero_bytes", rng.choice([".png", ".jpg"]), b"\0" * size)
    put("empty", ".png", b"")
    put("empty", ".jpg", b"")
    for w, h in ((100_000, 100_000), (65_535, 65_535), (2**31 - 1, 1), (1, 2**31 - 1), (50_000, 50_000)):
        put("bomb_header", ".png", bomb_png(w, h))
    put("bomb_header", ".gif", bomb_gif(65_535, 65_535))
    put("bomb_header", ".bmp", bomb_bmp(100_000, 100_000))
    put("eps_as_png", ".png", EPS)
    put("eps_as_png", ".jpg", EPS)
    put("text_as_image", ".png", b"this is not an image\n" * 10)
    put("text_as_image", ".jpg", "digits \u00e9\u00e8 \U0001F600\n".encode())
    if special:
        fifo = folder / f"{len(kinds):04d}-fifo.png"
        os.mkfifo(fifo)
        kinds[fifo.name] = "fifo"
        directory = folder / f"{len(kinds):04d}-directory.png"
        directory.mkdir()
        kinds[directory.name] = "directory"
        loop = folder / f"{len(kinds):04d}-symlink_loop.png"
        loop.symlink_to(loop.name)
        kinds[loop.name] = "symlink_loop"
    # the bulk: random damage to the samples, spread evenly over three kinds
    bulk = ("truncated", "bit_flip", "byte_garbage")
    i = 0
    while len(kinds) < count:
        kind = bulk[i % 3]
        name = names[(i // 3) % len(names)]
        data = bytearray(samples[name])
        if kind == "truncated":
            cut = rng.randrange(1, len(data))  # never the whole file
            out = bytes(data[:cut])
        elif kind == "bit_flip":
            for _ in range(rng.choice([1, 1, 2, 4, 16])):
                pos = rng.randrange(len(data))
                data[pos] ^= 1 << rng.randrange(8)
            out = bytes(data)
        else:
            start = rng.randrange(len(data))
            length = rng.randint(1, 64)
            data[start:start + length] = bytes(rng.randrange(256) for _ in range(length))
            out = bytes(data)
        put(kind, suffix_of(name), out)
        i += 1
    return kinds


def run_predict(folder: Path, files: list[str], batches: int, model: str, timeout: float) -> dict:
    """``digits predict --json`` over ``files`` in ``batches`` subprocesses; counts records, tracebacks and exit codes."""
    chunks = [files[k::batches] for k in range(batches)]
    records, errors, readings, tracebacks, exits = 0, 0, 0, 0, Counter()
    bad_lines, odd_exits, missing = 0, [], 0
    t0 = time.perf_counter()
    for chunk in chunks:
        if not chunk:
            continue
        cmd = [sys.executable, "-m", "handwritten_digits", "predict", "--json", "--no-progress", "--model", model,
               *[str(folder / f) for f in chunk]]
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL)
            code, out, err = proc.returncode, proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace")
        except subprocess.TimeoutExpired as exc:
            code, out, err = "timeout", (exc.stdout or b"").decode(errors="replace"), (exc.stderr or b"").decode(errors="replace")
        exits[str(code)] += 1
        if code not in DOCUMENTED_EXIT_CODES:
            odd_exits.append({"exit": code, "stderr_tail": err[-500:]})
        tracebacks += err.count("Traceback")
        seen = set()
        for line in out.splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                bad_lines += 1
                continue
            records += 1
            seen.add(Path(rec.get("path", "")).name)
            if "error" in rec:
                errors += 1
            else:
                readings += 1
        missing += len(set(chunk) - seen)
    return {"files": len(files), "batches": len([c for c in chunks if c]), "seconds": round(time.perf_counter() - t0, 1),
            "records": records, "error_records": errors, "readings": readings, "files_without_record": missing,
            "non_json_lines": bad_lines, "tracebacks": tracebacks, "exit_codes": dict(exits),
            "undocumented_exits": len(odd_exits), "undocumented_exit_details": odd_exits[:5]}


# ---------------------------------------------------------------- HTTP helpers


async def _post(host: str, port: int, path: str, body: bytes, content_type: str, timeout: float = 30) -> int | str:
    from benchmarks.bench_load import Connection

    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    conn = Connection(host, port)
    try:
        return await asyncio.wait_for(conn.request(head, body), timeout=timeout)
    except (OSError, ConnectionError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError) as exc:
        return type(exc).__name__
    finally:
        conn.close()


async def _post_all(port: int, path: str, items: list[tuple[bytes, str]], concurrency: int, seconds: float) -> list:
    sem = asyncio.Semaphore(concurrency)
    deadline = time.perf_counter() + seconds

    async def one(body, ctype):
        async with sem:
            if time.perf_counter() > deadline:
                return "not sent (time limit)"
            return await _post("127.0.0.1", port, path, body, ctype)

    return await asyncio.gather(*(one(b, c) for b, c in items))


def _status_classes(statuses) -> dict:
    out = Counter()
    for s in statuses:
        out[f"{str(s)[0]}xx" if isinstance(s, int) else str(s)] += 1
    return dict(sorted(out.items()))


def post_malformed(port: int, folder: Path, kinds: dict[str, str], sample: int, seed: int = 1) -> dict:
    """POST a sample of the malformed files (the plain files) to /api/v1/recognize: status classes and 5xx."""
    rng = random.Random(seed)
    plain = [n for n in kinds if (folder / n).is_file() and not (folder / n).is_symlink() and kinds[n] != "fifo"]
    chosen = sorted(rng.sample(plain, min(sample, len(plain))))
    ctype = {".png": "image/png", ".jpg": "image/jpeg", ".gif": "image/gif", ".bmp": "image/bmp",
             ".webp": "image/webp", ".tif": "image/tiff"}
    items = [((folder / n).read_bytes(), ctype.get(Path(n).suffix, "image/png")) for n in chosen]
    t0 = time.perf_counter()
    statuses = asyncio.run(_post_all(port, "/api/v1/recognize", items, 8, 120))
    by_kind: dict[str, Counter] = {}
    for n, s in zip(chosen, statuses):
        by_kind.setdefault(kinds[n], Counter())[str(s)] += 1
    return {"posted": len(items), "seconds": round(time.perf_counter() - t0, 1), "statuses": _status_classes(statuses),
            "server_errors_5xx": sum(1 for s in statuses if isinstance(s, int) and s >= 500),
            "by_kind": {k: dict(v) for k, v in sorted(by_kind.items())}}


# ---------------------------------------------------------------- fuzzing


def fuzz(url: str, max_examples: int, seconds: int, seed: int = 0) -> dict:
    """schemathesis against the live server's spec, every default check; responses counted as they come."""
    import schemathesis
    from schemathesis.engine import events, from_schema

    register_image_media_types()
    statuses: Counter = Counter()
    lock = threading.Lock()

    @schemathesis.hook
    def after_call(context, case, response):
        with lock:
            statuses[response.status_code] += 1

    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    schema.config.generation.update(max_examples=max_examples)
    for attr, value in (("max_time", seconds), ("seed", seed)):
        if hasattr(schema.config, attr):
            try:
                setattr(schema.config, attr, value)
            except AttributeError:
                pass
    failures: Counter = Counter()
    failing_ops: dict[str, set] = {}
    scenarios, errors, stop_reason, slips, details = 0, [], None, 0, []
    checks_run = Counter()
    t0 = time.perf_counter()
    stream = from_schema(schema).execute()
    deadline = time.monotonic() + seconds + 30
    for event in stream:
        if isinstance(event, events.ScenarioFinished):
            scenarios += 1
            for case_id, nodes in event.recorder.checks.items():
                for node in nodes:
                    checks_run[node.name] += 1
                    if node.status.name == "FAILURE":
                        node_case = event.recorder.cases.get(case_id)
                        case = getattr(node_case, "value", None)
                        if _schemathesis_slip(case):
                            slips += 1
                            continue
                        failures[node.name] += 1
                        failing_ops.setdefault(node.name, set()).add(event.recorder.label)
                        if len(details) < 10:
                            failure = getattr(node.failure_info, "failure", None)
                            details.append({"check": node.name, "operation": event.recorder.label,
                                            "phase": str(getattr(event.phase, "name", event.phase)),
                                            "title": str(getattr(failure, "title", ""))[:200],
                                            "message": str(getattr(failure, "message", ""))[:300],
                                            "body": _short_body(getattr(case, "body", None))})
        elif isinstance(event, (events.NonFatalError, events.FatalError)):
            errors.append(str(getattr(event, "info", event))[:300])
        elif isinstance(event, events.EngineFinished):
            stop_reason = event.stop_reason.name
        if time.monotonic() > deadline:
            stream.stop()
            stop_reason = "stopped by bench_reliability's own deadline"
            break
    statuses_total = sum(statuses.values())
    return {
        "tool": f"schemathesis {schemathesis.__version__}, default checks, all phases, against {url}/openapi.json",
        "max_examples_per_operation": max_examples, "max_seconds": seconds, "seconds": round(time.perf_counter() - t0, 1),
        "operations": len(list(schema.get_all_operations())), "scenarios": scenarios, "stop_reason": stop_reason,
        "requests": statuses_total,
        "statuses": _status_classes(s for s, n in statuses.items() for _ in range(n)),
        "server_errors_5xx": sum(n for s, n in statuses.items() if s >= 500),
        "check_failures": sum(failures.values()), "check_failures_by_check": dict(failures),
        "failing_operations": {k: sorted(v) for k, v in failing_ops.items()}, "failures": details,
        "schemathesis_slips_not_counted": slips,
        "schemathesis_slip": "coverage phase, positive mode, a form whose label is \"\" (schemathesis 4.32.5 builds "
                             "it for forms with an encoding entry and still calls it valid; see tests/test_schemathesis.py)",
        "checks_recorded": dict(checks_run), "engine_errors": errors[:10],
    }


def _schemathesis_slip(case) -> bool:
    """The schemathesis 4.32.5 slip that tests/test_schemathesis.py skips: in its coverage phase, a form with an
    ``encoding`` entry gets ``""`` for every other required field and is still called valid, though ``label``
    is an integer. A 422 for it is right, not a disagreement with the spec."""
    meta, body = getattr(case, "meta", None), getattr(case, "body", None)
    try:
        return (meta is not None and meta.phase.name == "coverage" and meta.generation.mode.is_positive
                and isinstance(body, dict) and body.get("label") == "")
    except AttributeError:
        return False


def _short_body(body) -> str:
    if isinstance(body, dict):
        return repr({k: (f"<{len(v)} bytes>" if isinstance(v, (bytes, bytearray)) else v) for k, v in body.items()})[:200]
    if isinstance(body, (bytes, bytearray)):
        return f"<{len(body)} bytes>"
    return repr(body)[:200]


_REGISTERED = False


def register_image_media_types() -> None:
    """Image bodies as real PNG and JPEG images, for this benchmark and tests/test_schemathesis.py: a spec cannot
    say "a decodable image", so random bytes labelled image/png would not be valid data. Each image holds one to
    three clear strokes (``/feedback`` rightly refuses an image with no ink)."""
    global _REGISTERED
    if _REGISTERED:
        return
    import schemathesis
    from hypothesis import strategies as st
    from PIL import Image, ImageDraw

    @st.composite
    def drawn_image(draw, fmt: str) -> bytes:
        width, height = draw(st.integers(32, 160)), draw(st.integers(32, 160))
        mode = draw(st.sampled_from(["L", "RGB", "RGBA"] if fmt == "PNG" else ["L", "RGB"]))
        paper = {"L": 255, "RGB": (255, 255, 255), "RGBA": (0, 0, 0, 0)}[mode]
        ink = {"L": 0, "RGB": (0, 0, 0), "RGBA": (0, 0, 0, 255)}[mode]
        img = Image.new(mode, (width, height), paper)
        pen = ImageDraw.Draw(img)
        for _ in range(draw(st.integers(1, 3))):
            x, y = draw(st.integers(4, width - 20)), draw(st.integers(4, height - 20))
            dx, dy = draw(st.integers(0, 16)), draw(st.integers(12, 16))
            pen.line([(x, y), (x + dx, y + dy)], fill=ink, width=draw(st.integers(3, 6)))
        buffer = io.BytesIO()
        img.save(buffer, format=fmt)
        return buffer.getvalue()

    schemathesis.openapi.media_type("image/png", drawn_image("PNG"))
    schemathesis.openapi.media_type("image/jpeg", drawn_image("JPEG"), aliases=["image/jpg"])
    _REGISTERED = True


# ---------------------------------------------------------------- corrections under load


def digit_png(label: int) -> bytes:
    """A 28x28 grayscale PNG: a dark stroke on white (the route takes 28x28 as the model input itself)."""
    from PIL import Image, ImageDraw

    img = Image.new("L", (28, 28), 255)
    pen = ImageDraw.Draw(img)
    pen.line([(8 + label % 5, 5), (14, 23)], fill=0, width=3)
    pen.line([(10, 14), (20 - label % 4, 14)], fill=0, width=2)
    buffer = io.BytesIO()
    img.save(buffer, format="PNG")
    return buffer.getvalue()


def multipart(image: bytes, label: int, boundary: str = "digitsreliability") -> tuple[bytes, str]:
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"d.png\"\r\n"
            f"Content-Type: image/png\r\n\r\n").encode() + image + (
            f"\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"label\"\r\n\r\n{label}\r\n"
            f"--{boundary}--\r\n").encode()
    return body, f"multipart/form-data; boundary={boundary}"


def feedback_under_load(port: int, db: Path, posts: int, concurrency: int, seconds: float) -> dict:
    """``posts`` corrections POSTed with ``concurrency`` in flight; then the rows this phase added to ``db``
    (ids above the largest before it: the fuzzing phase stores corrections too) and its integrity check."""
    first = _max_id(db)
    items = []
    for i in range(posts):
        body, ctype = multipart(digit_png(i % 10), i % 10)
        items.append((body, ctype))
    t0 = time.perf_counter()
    statuses = asyncio.run(_post_all(port, "/api/v1/feedback", items, concurrency, seconds))
    elapsed = time.perf_counter() - t0
    acknowledged = sum(1 for s in statuses if s == 201)
    stored, integrity, labels, total = None, None, None, None
    try:
        with sqlite3.connect(db, timeout=30) as conn:
            stored = conn.execute("SELECT COUNT(*) FROM feedback WHERE id > ?", (first,)).fetchone()[0]
            labels = dict(conn.execute("SELECT label, COUNT(*) FROM feedback WHERE id > ? GROUP BY label",
                                       (first,)).fetchall())
            total = conn.execute("SELECT COUNT(*) FROM feedback").fetchone()[0]
            integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        conn.close()
    except sqlite3.Error as exc:
        integrity = f"error: {exc}"
    return {"sent": posts, "concurrency": concurrency, "seconds": round(elapsed, 2),
            "statuses": _status_classes(statuses), "acknowledged_201": acknowledged,
            "server_errors_5xx": sum(1 for s in statuses if isinstance(s, int) and s >= 500),
            "rows_stored": stored, "lost": None if stored is None else acknowledged - stored,
            "labels_stored": {str(k): v for k, v in sorted((labels or {}).items())},
            "integrity_check": integrity, "max_id_before": first, "rows_in_db_after": total,
            "label_posted_equals_label_stored": None if labels is None else all(
                labels.get(d, 0) == sum(1 for i, s in enumerate(statuses) if s == 201 and i % 10 == d) for d in range(10))}


# ---------------------------------------------------------------- probes


def probes_from_worst(path: Path = WORST) -> dict:
    if not path.exists():
        return {"source": None, "note": f"{path.name} not found: run python -m benchmarks.bench_worst"}
    res = json.loads(path.read_text())
    server = res.get("server") or {}
    busy = server.get("healthz_with_worst_in_flight")
    if not busy:
        return {"source": str(path.name), "note": "worst.json has no server phase (run bench_worst without --skip-server)"}
    return {"source": f"benchmarks/results/{path.name} (server.healthz_with_worst_in_flight), measured by "
                      f"`{str(res.get('command', 'python -m benchmarks.bench_worst')).strip()}`; not re-measured here",
            "in_flight": server.get("in_flight"), "seconds": server.get("seconds"),
            "healthz_with_worst_in_flight": busy, "healthz_idle": server.get("healthz_idle"),
            "worst_latency_ms": busy.get("max_ms"), "target_p99_ms": (res.get("targets") or {}).get("healthz_p99_ms"),
            "within_target": server.get("healthz_within_target")}


# ---------------------------------------------------------------- main


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Reliability: fuzzed requests, malformed files, probes, corrections under load.",
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", default="default-int8", help="model served and read with (name, .onnx file or folder)")
    p.add_argument("--workers", type=int, default=2, help="uvicorn worker processes of the server")
    p.add_argument("--max-examples", type=int, default=100, help="schemathesis examples per operation and phase")
    p.add_argument("--fuzz-seconds", type=int, default=90, help="time limit of the fuzzing phase")
    p.add_argument("--files", type=int, default=1000, help="malformed files to make")
    p.add_argument("--batches", type=int, default=4, help="digits predict subprocesses over the malformed files")
    p.add_argument("--post-sample", type=int, default=200, help="malformed files also POSTed to the server")
    p.add_argument("--feedback-posts", type=int, default=1000, help="concurrent corrections POSTed")
    p.add_argument("--concurrency", type=int, default=1000,
                   help="corrections in flight at once (equal to --feedback-posts: all of them at once)")
    p.add_argument("--feedback-seconds", type=float, default=120, help="time limit of the corrections phase")
    p.add_argument("--skip", nargs="*", default=[], choices=["fuzz", "files", "feedback"], help="phases to leave out")
    p.add_argument("--out", default=str(RESULTS), help="results JSON")
    p.add_argument("--quick", action="store_true",
                   help="a smoke run: 10 examples, 30 s of fuzzing, 200 files, 50 posted, 200 corrections")
    args = p.parse_args(argv)
    if args.quick:
        args.max_examples, args.fuzz_seconds, args.files, args.post_sample = 10, 30, 200, 50
        args.feedback_posts, args.concurrency = 200, 200

    from benchmarks.bench_load import free_port, report_header, start, stop
    from handwritten_digits import modelcard
    from handwritten_digits.fileio import atomic_write_json

    model = str(modelcard.resolve(args.model))
    report = {**report_header("bench_reliability", argv), "model": Path(model).stem, "quick": args.quick}
    with tempfile.TemporaryDirectory(prefix="digits-reliability-") as tmp:
        tmp = Path(tmp)
        db = tmp / "feedback.db"
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        cmd = [sys.executable, "-m", "handwritten_digits", "serve", "--host", "127.0.0.1", "--port", str(port),
               "--workers", str(args.workers), "--threads", "1", "--model", model, "--log-level", "warning",
               "--feedback-db", str(db)]
        report["server_command"] = " ".join(cmd)
        folder = tmp / "malformed"
        if "files" not in args.skip:
            print(f"making {args.files} malformed files ...", file=sys.stderr, flush=True)
            kinds = malformed_files(folder, args.files)
            print("digits predict --json over them ...", file=sys.stderr, flush=True)
            files = run_predict(folder, sorted(kinds), args.batches, model, timeout=300)
            files["kinds"] = dict(sorted(Counter(kinds.values()).items()))
            report["malformed_files"] = files
        proc = start(cmd, f"{url}/readyz")
        try:
            if "files" not in args.skip:
                print(f"POSTing {args.post_sample} of them ...", file=sys.stderr, flush=True)
                report["malformed_files"]["posted"] = post_malformed(port, folder, kinds, args.post_sample)
            if "fuzz" not in args.skip:
                print(f"schemathesis ({args.max_examples} examples, <= {args.fuzz_seconds} s) ...", file=sys.stderr, flush=True)
                try:
                    report["fuzz"] = fuzz(url, args.max_examples, args.fuzz_seconds)
                except Exception as exc:  # record, never lose the other phases
                    report["fuzz"] = {"error": repr(exc)[:500]}
            if "feedback" not in args.skip:
                print(f"{args.feedback_posts} corrections at once ...", file=sys.stderr, flush=True)
                report["feedback_under_load"] = feedback_under_load(port, db, args.feedback_posts, args.concurrency,
                                                                    args.feedback_seconds)
            report["server_alive_after"] = proc.poll() is None
        finally:
            stop(proc)
        report["server_stderr_tracebacks"] = proc.stderr.read().decode(errors="replace").count("Traceback")
    report["probes"] = probes_from_worst()
    report["machine"]["loadavg_after"] = [round(v, 2) for v in os.getloadavg()]
    if max(report["machine"]["loadavg_before"][0], os.getloadavg()[0]) > 0.5 * (os.cpu_count() or 1):
        report["notes"] = ["other work was running (see loadavg): times are inflated"]
    out = atomic_write_json(Path(args.out), report)
    print(json.dumps({k: v for k, v in report.items() if k not in ("machine",)}, indent=1)[:4000])
    print(f"wrote {out}")
    return 0


def _max_id(db: Path) -> int:
    """The largest row id already in the feedback DB (0 if none)."""
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=30) as conn:
            n = conn.execute("SELECT COALESCE(MAX(id), 0) FROM feedback").fetchone()[0]
        conn.close()
        return n
    except sqlite3.Error:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
