"""Load test of ``digits serve`` against a minimal Flask + eager PyTorch route, on loopback only.

Each server runs in its own process tree; the load generator (:mod:`benchmarks.load_client`) runs in
another process: asyncio with raw HTTP/1.1 keep-alive connections (no client library overhead). It posts
the page's live request: the drawing exported at 280x140 (MNIST validation digits, one to three, dark ink
on opaque white) and measures:

* saturation throughput: ``--connections`` closed-loop clients for ``--seconds``;
* latency at fixed rates (open loop: requests are due at fixed times and latency is counted from
  when each was due, so a stalled server cannot hide its queue).

Beside them, the HTTP floor (``benchmarks.http_floor``: the same stack, a route that does no work) and
the CPU of each step in process give where a request's CPU goes, against the 2 ms that 1,000 req/s
leaves per request on 2 cores (``budget_at_1000_rps``).

Every phase is bounded in time and requests and the whole run stops by itself. Results go to
``benchmarks/results/load.json``. Run under ``nice -n 10`` on a shared machine and read the
recorded load average: other work on the cores depresses the numbers.

    python -m benchmarks.bench_load            # full run (~2 minutes)
    python -m benchmarks.bench_load --quick    # a smoke run (~25 s)
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.load_client import run_client
from benchmarks.servers import free_port, group_cpu_seconds, report_header, start, stop

RESULTS = Path(__file__).parent / "results" / "load.json"
SHARED_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"  # where the tests look too


# ---------------------------------------------------------------- request bodies


def canvas_pngs(count: int, size: tuple[int, int] = (280, 140), data_dir=None) -> list[bytes]:
    """``count`` PNGs like the page's live request: its 560x280 canvas exported at half size (280x140),
    opaque white paper, one to three digits in dark ink side by side, RGBA."""
    from PIL import Image

    images, _ = digit_images(count, data_dir)
    rng = np.random.default_rng(0)
    width, height = size
    out = []
    for i in range(count):
        n = 1 + i % 3  # as people draw on the page: a digit, or a short number
        side = min(int(height * 0.8), width // n)  # each 28x28 frame scaled up; strokes ~9 px, like the pen
        canvas = Image.new("RGBA", (width, height), (255, 255, 255, 255))
        for k, image in enumerate(images[rng.integers(len(images), size=n)]):
            ink = Image.fromarray((image * 255).astype(np.uint8)).resize((side, side), Image.BILINEAR)
            left = (width - n * side) // (n + 1) * (k + 1) + k * side
            canvas.paste(Image.new("RGBA", ink.size, (17, 24, 39, 255)), (left, (height - side) // 2), ink)
        buffer = io.BytesIO()
        canvas.save(buffer, format="PNG")
        out.append(buffer.getvalue())
    return out


def digit_images(count: int, data_dir=None) -> tuple[np.ndarray, str]:
    """The digits drawn on the canvases, and where they come from: MNIST validation digits, or synthetic
    strokes where MNIST is not found (realistic PNG sizes, but far costlier to read: not the page's load)."""
    try:
        from handwritten_digits.data import load_dataset

        images, _ = load_dataset("val", data_dir=data_dir)  # never the test set
        return images, "MNIST validation digits"
    except Exception:
        return _synthetic_digits(count), "synthetic strokes (MNIST not found: pass --data-dir)"


def _synthetic_digits(count: int) -> np.ndarray:
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(1)
    out = []
    for _ in range(count):
        img = Image.new("L", (28, 28))
        ImageDraw.Draw(img).line([tuple(rng.integers(4, 24, 2)) for _ in range(4)], fill=255, width=3)
        out.append(np.asarray(img, np.float32) / 255)
    return np.stack(out)


# ---------------------------------------------------------------- where a request's CPU goes


class _Clocked:
    """An ONNX Runtime session whose ``run`` calls add their thread CPU time to ``totals[name]``."""

    def __init__(self, session, totals: dict, name: str):
        self._session, self._totals, self._name = session, totals, name

    def run(self, *args, **kwargs):
        t = time.thread_time()
        out = self._session.run(*args, **kwargs)
        self._totals[self._name] = self._totals.get(self._name, 0.0) + time.thread_time() - t
        return out

    def __getattr__(self, attr):
        return getattr(self._session, attr)


MODEL_STAGE = "networks within the reading (classifier + checker)"
DECODE_STAGE = "decode (reading.decode.decode)"
INK_STAGE = "ink (reading.ink.find_ink)"
READ_STAGE = "whole reading after decode: ink, segmentation, networks (Reader.read)"
SINGLE_STAGE = "single path after decode: ink, one piece, networks (Reader.read single=True)"


def stage_cpu_ms(model, bodies, rounds: int = 2) -> dict:
    """CPU milliseconds per request spent in each step of the recognize route, measured in this process.

    The steps are the route's own calls: ``decode`` as the server calls it (at most ``WORK_SIDE``), then
    ``Reader.read`` on the decoded image (ink, segmentation and the networks), whose ONNX Runtime
    sessions are clocked apart (``MODEL_STAGE``); ``find_ink`` alone, and the ``?single=true`` path.
    OpenCV runs on one thread, as in the server, so that thread CPU time holds all of the work.
    """
    from handwritten_digits.reading import decode, ink
    from handwritten_digits.reading.reader import Reader

    totals: dict[str, float] = {}
    reader = Reader.load(model, threads=1)  # its network calls are clocked apart
    rec = reader.recognizer
    rec.session = _Clocked(rec.session, totals, MODEL_STAGE)
    if rec.checker is not None:
        rec.checker = _Clocked(rec.checker, totals, MODEL_STAGE)

    def clock(name, f):
        t = time.thread_time()
        out = f()
        totals[name] = totals.get(name, 0.0) + time.thread_time() - t
        return out

    with _one_opencv_thread():
        for body in bodies[:2]:  # first calls set up caches and sessions: not counted
            gray = decode.decode(body, max_side=ink.WORK_SIDE)
            reader.read(gray)
            reader.read(gray, single=True)
        totals.clear()
        for body in bodies * rounds:
            gray = clock(DECODE_STAGE, lambda: decode.decode(body, max_side=ink.WORK_SIDE))
            clock(INK_STAGE, lambda: ink.find_ink(gray))
            clock(READ_STAGE, lambda: reader.read(gray))
            model_cpu = totals.get(MODEL_STAGE, 0.0)
            clock(SINGLE_STAGE, lambda: reader.read(gray, single=True))
            totals[MODEL_STAGE] = model_cpu  # the networks of the full reading only
    n = len(bodies) * rounds
    return {name: round(total / n * 1000, 3) for name, total in totals.items()}


@contextlib.contextmanager
def _one_opencv_thread():
    """OpenCV on the calling thread only while inside (the server's setting: ``tune_process``)."""
    import cv2

    before = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(before)


def request_budget(report: dict, rate: float = 1000.0) -> dict | None:
    """Where one request's CPU goes, beside what ``rate`` req/s leaves per request on this machine's cores.

    Parts: the load generator (at the real server's saturation), the HTTP stack (the HTTP floor server),
    PNG decoding, the networks, and ink finding with segmentation (the reading minus its networks),
    the last three measured in process.
    ``measured_ms`` is the real server's CPU per request plus its load generator's, both at saturation.
    """
    servers = report.get("servers", [])
    floor = next((x for x in servers if x.get("floor")), None)
    real = next((x for x in servers if not x.get("floor") and x.get("server_cpu_ms_per_request")), None)
    stages = report.get("stages_cpu_ms") or {}
    if (floor is None or real is None or not floor.get("server_cpu_ms_per_request")
            or any(k not in stages for k in (MODEL_STAGE, READ_STAGE, DECODE_STAGE))):
        return None
    cores = report["machine"]["cpus"] or 1
    reading = stages[READ_STAGE]
    parts = {
        "load generator (client process)": real["saturation"].get("client_cpu_ms_per_request"),
        "HTTP: FastAPI + uvicorn, no work behind the route": floor["server_cpu_ms_per_request"],
        "PNG decode (OpenCV)": stages[DECODE_STAGE],
        "networks (classifier + checker)": stages[MODEL_STAGE],
        "ink finding and segmentation (OpenCV + numpy)": round(reading - stages[MODEL_STAGE], 3),
    }
    measured = real["server_cpu_ms_per_request"] + (real["saturation"].get("client_cpu_ms_per_request") or 0.0)
    parts["the rest: route, JSON, scheduling, caches (measured minus the parts)"] = round(
        measured - sum(v for v in parts.values() if v is not None), 3)
    return {
        "rate_rps": rate, "cores": cores, "available_ms": round(cores * 1000 / rate, 3),
        "model": real["name"].split(" (")[0], "parts_ms": parts,
        "measured_ms": round(measured, 3), "ceiling_rps": round(cores * 1000 / measured, 0),
    }


# ---------------------------------------------------------------- one server under load


def bench_server(name, cmd, ready_url, path, bodies, args, with_rates: bool = True) -> dict:
    port = int(ready_url.split(":")[2].split("/")[0])
    proc = start(cmd, ready_url)
    try:
        plan = {"host": "127.0.0.1", "port": port, "path": path, "bodies": bodies, "warmup": args.warmup,
                "connections": args.connections, "seconds": args.seconds, "max_requests": args.max_requests,
                "rates": args.rates, "rate_seconds": args.rate_seconds, "max_connections": args.max_connections}
        cpu0 = group_cpu_seconds(proc.pid)
        saturation = run_client({**plan, "phase": "saturation"}, timeout=args.warmup + args.seconds + 60)
        cpu1 = group_cpu_seconds(proc.pid)
        rates = None
        if with_rates:
            rates = run_client({**plan, "phase": "rates"}, timeout=len(args.rates) * (args.rate_seconds + 15) + 30)
    finally:
        stop(proc)
    result = {"name": name, "command": " ".join(cmd), "saturation": saturation}
    if with_rates:
        result["rates"] = rates
    if isinstance(saturation, dict) and saturation.get("requests"):
        # CPU the server spent per request, warm-up included: independent of how busy the cores were,
        # so it gives the capacity of 2 free cores even when measured on a shared machine
        per_request = (cpu1 - cpu0) / (saturation["requests"] + saturation.get("warmup_requests", 0))
        result["server_cpu_ms_per_request"] = round(per_request * 1000, 3)
        result["projected_rps_on_2_free_cores"] = round(2 / per_request, 0) if per_request > 0 else None
    return result


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Load-test digits serve against Flask + eager PyTorch (loopback only).",
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--models", nargs="+", default=["default-int8", "default"],
                   help="models for digits serve, each load-tested in turn (names, .onnx files or folders); "
                        "the first also gets ?single=true and the in-process steps")
    p.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    p.add_argument("--connections", type=int, default=32, help="closed-loop connections at saturation")
    p.add_argument("--seconds", type=float, default=10, help="saturation phase length")
    p.add_argument("--max-requests", type=int, default=50_000, help="cap on requests in the saturation phase")
    p.add_argument("--rates", type=float, nargs="+", default=[100, 200, 500], help="fixed request rates (req/s)")
    p.add_argument("--rate-seconds", type=float, default=10, help="length of each fixed-rate phase")
    p.add_argument("--max-connections", type=int, default=64, help="open-loop connection pool limit")
    p.add_argument("--warmup", type=float, default=2, help="warm-up seconds before measuring")
    p.add_argument("--bodies", type=int, default=64, help="distinct PNGs to cycle through")
    p.add_argument("--size", default="280x140", help="PNG size WxH (the page sends 280x140)")
    p.add_argument("--skip-baseline", action="store_true", help="do not run the Flask + PyTorch baseline")
    p.add_argument("--skip-single", action="store_true", help="do not also load-test ?single=true (no segmentation)")
    p.add_argument("--data-dir", default=None,
                   help="MNIST folder (None: $DIGITS_DATA_DIR, else ../shared/data/mnist beside the repository, "
                        "as the tests find it)")
    p.add_argument("--out", default=str(RESULTS), help="results JSON")
    p.add_argument("--quick", action="store_true", help="short phases: a smoke run")
    args = p.parse_args(argv)
    if args.quick:
        args.seconds, args.rate_seconds, args.warmup, args.bodies = 3, 3, 1, 16

    from handwritten_digits import modelcard

    models = [modelcard.resolve(m) for m in args.models]
    card = modelcard.read_card(models[0])
    try:
        size = tuple(int(v) for v in args.size.lower().split("x"))
    except ValueError:
        size = ()
    if len(size) != 2 or min(size) < 28:
        p.error(f"--size: expected WxH of at least 28x28, got {args.size!r}")
    if args.data_dir is None and not os.environ.get("DIGITS_DATA_DIR") and SHARED_MNIST.is_dir():
        args.data_dir = str(SHARED_MNIST)
    bodies = canvas_pngs(args.bodies, size=size, data_dir=args.data_dir)
    source = digit_images(1, args.data_dir)[1]
    if source.startswith("synthetic"):
        print(f"warning: the canvases hold {source}", file=sys.stderr, flush=True)
    report = {
        **report_header("bench_load", argv),
        "request": {"kind": f"POST image/png, {size[0]}x{size[1]} RGBA canvas export, 1-3 digits",
                    "digits": source,
                    "mean_bytes": int(np.mean([len(b) for b in bodies])), "distinct_bodies": len(bodies)},
        "model": {"name": card.get("name"), "architecture": card.get("architecture"),
                  "served": [m.stem for m in models]},
        "servers": [],
    }
    for model in models:
        port = free_port()
        digits_cmd = [sys.executable, "-m", "handwritten_digits", "serve", "--host", "127.0.0.1", "--port", str(port),
                      "--workers", str(args.workers), "--threads", "1", "--model", str(model), "--log-level", "warning",
                      "--feedback-db", os.devnull]
        routes = [("/api/v1/recognize", "find and read every digit (the page's live request)")]
        if not args.skip_single and model == models[0]:
            routes.append(("/api/v1/recognize?single=true", "the whole image as one digit: no segmentation"))
        for route, what in routes:
            print(f"digits serve --model {model.stem} ({args.workers} workers) {route} ...", file=sys.stderr, flush=True)
            report["servers"].append(bench_server(
                f"digits serve --model {model.stem} (FastAPI + uvicorn + ONNX Runtime): POST {route} - {what}",
                digits_cmd, f"http://127.0.0.1:{port}/readyz", route, bodies, args))
    if not args.skip_baseline:
        arch = (card.get("architecture") or {}).get("name", "fast")
        port = free_port()
        flask_cmd = [sys.executable, "-m", "benchmarks.flask_torch_baseline", "--port", str(port), "--arch", arch]
        print("flask + torch baseline ...", file=sys.stderr, flush=True)
        report["servers"].append(bench_server(f"Flask dev server + eager PyTorch ({arch} CNN from models.cnn)",
                                              flask_cmd, f"http://127.0.0.1:{port}/", "/predict", bodies, args))
    port = free_port()
    floor_cmd = [sys.executable, "-m", "benchmarks.http_floor", "--port", str(port), "--workers", str(args.workers)]
    print("HTTP floor (the same stack, no work) ...", file=sys.stderr, flush=True)
    floor = bench_server("HTTP floor: the same FastAPI + uvicorn stack, a route that only reads the body",
                         floor_cmd, f"http://127.0.0.1:{port}/readyz", "/api/v1/recognize", bodies, args, with_rates=False)
    report["servers"].append({**floor, "floor": True})
    report["stages_cpu_ms"] = stage_cpu_ms(models[0], bodies[:32])
    report["budget_at_1000_rps"] = request_budget(report)
    busy = max(report["machine"]["loadavg_before"][0], os.getloadavg()[0]) > 0.5 * (os.cpu_count() or 1)
    report["notes"] = [
        "the load generator shares the machine's cores with the server (loopback, one client process)",
        "server_cpu_ms_per_request = CPU time of the server's process group / requests (saturation phase + warm-up); "
        "projected_rps_on_2_free_cores = 2 / that, an estimate, not a measurement",
    ] + (["other work was running (see loadavg): throughput and latency are depressed; re-run on idle cores"] if busy else [])
    report["machine"]["loadavg_after"] = [round(v, 2) for v in os.getloadavg()]
    out = Path(args.out)
    from handwritten_digits.fileio import atomic_write_json

    atomic_write_json(out, report)
    for server in report["servers"]:
        print(server["name"])
        rates = server.get("rates", [])
        if "error" in server["saturation"] or "error" in rates:
            print("  error:", server["saturation"], rates)
            continue
        print(f"  server CPU per request: {server.get('server_cpu_ms_per_request')} ms "
              f"(2 free cores: ~{server.get('projected_rps_on_2_free_cores')} req/s)")
        s = server["saturation"]
        print(f"  saturation: {s['throughput_rps']} req/s, p50 {s['p50_ms']} ms, p99 {s['p99_ms']} ms, errors {s['errors']}, "
              f"client CPU per request {s.get('client_cpu_ms_per_request')} ms")
        for r in rates:
            if "skipped" in r:
                print(f"  {r['rate_rps']:>6.0f} req/s: skipped ({r['skipped']})")
                continue
            print(f"  {r['rate_rps']:>6.0f} req/s: achieved {r['achieved_rps']}, p50 {r['p50_ms']} ms, "
                  f"p99 {r['p99_ms']} ms, errors {r['errors']}, unfinished {r['unfinished']}")
    print("CPU per request by step (in-process):", report["stages_cpu_ms"])
    if report["budget_at_1000_rps"]:
        print("budget at 1,000 req/s:", report["budget_at_1000_rps"])
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
