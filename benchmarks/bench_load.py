"""Load test of ``digits serve`` against a minimal Flask + eager PyTorch route, on loopback only.

Each server runs in its own process tree; the load generator runs in another process: asyncio with
raw HTTP/1.1 keep-alive connections (no client library overhead). It posts the page's live request:
the drawing exported at 280x140 (MNIST validation digits, one to three, dark ink on opaque white) and
measures:

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
import asyncio
import contextlib
import io
import multiprocessing as mp
import os
import platform
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

import numpy as np

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


# ---------------------------------------------------------------- the client (its own process)


class Connection:
    """One raw HTTP/1.1 connection; reconnects when the server closes (HTTP/1.0-style servers)."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader = self.writer = None
        self.reconnects = 0

    async def request(self, head: bytes, body: bytes) -> int:
        reused = self.writer is not None
        if not reused:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        try:
            self.writer.write(head + body)
            status_line = await self.reader.readline()
        except ConnectionResetError:
            status_line = b""
        if not status_line and reused:
            # the server closed this keep-alive connection while it sat idle (uvicorn: after 5 s):
            # what every HTTP client does, send again on a new connection
            self.close()
            self.reconnects += 1
            return await self.request(head, body)
        if not status_line:
            raise ConnectionError("server closed the connection")
        status = int(status_line.split()[1])
        length, close = None, status_line.startswith(b"HTTP/1.0")
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection":
                close = value.strip().lower() == "close"
        if length is not None:
            await self.reader.readexactly(length)
        else:
            await self.reader.read()
            close = True
        if close:
            self.close()
        return status

    def close(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def _heads(path: str, bodies: list[bytes]) -> list[bytes]:
    return [(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\n"
             f"Content-Length: {len(b)}\r\n\r\n").encode() for b in bodies]


async def _closed_loop(host, port, path, bodies, connections, seconds, max_requests):
    heads = _heads(path, bodies)
    latencies, kinds, conns = [], Counter(), []  # kinds: failed requests by status or exception
    stop = time.perf_counter() + seconds
    counter = iter(range(max_requests))

    async def worker(k):
        conn = Connection(host, port)
        conns.append(conn)
        while time.perf_counter() < stop and (i := next(counter, None)) is not None:
            t0 = time.perf_counter()
            try:
                status = await conn.request(heads[i % len(bodies)], bodies[i % len(bodies)])
            except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError) as exc:
                status = type(exc).__name__
                conn.close()
            if status == 200:
                latencies.append(time.perf_counter() - t0)
            else:
                kinds[str(status)] += 1
        conn.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(k) for k in range(connections)))
    elapsed, failed = time.perf_counter() - t0, sum(kinds.values())
    return {"connections": connections, "seconds": round(elapsed, 2), "requests": len(latencies) + failed,
            "errors": failed, "error_kinds": dict(kinds), "reconnects": sum(c.reconnects for c in conns),
            "throughput_rps": round(len(latencies) / elapsed, 1), **_percentiles(latencies)}


async def _open_loop(host, port, path, bodies, rate, seconds, max_connections, drain=10.0):
    """Requests due every 1/rate s; latency from the due time. Idle connections are reused."""
    heads = _heads(path, bodies)
    total = int(rate * seconds)
    idle: list[Connection] = []
    opened = 0
    latencies, late, kinds, conns = [], 0, Counter(), []
    pool_free = asyncio.Condition()

    async def one(i, due):
        nonlocal opened
        async with pool_free:
            while not idle and opened >= max_connections:
                await pool_free.wait()
            if idle:
                conn = idle.pop()
            else:
                conn, opened = Connection(host, port), opened + 1
                conns.append(conn)
        try:
            status = await asyncio.wait_for(conn.request(heads[i % len(bodies)], bodies[i % len(bodies)]), timeout=10)
        except (OSError, ConnectionError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError) as exc:
            status = type(exc).__name__
            conn.close()
        if status == 200:
            latencies.append(time.perf_counter() - due)
        else:
            kinds[str(status)] += 1
        async with pool_free:
            idle.append(conn)
            pool_free.notify()

    start = time.perf_counter() + 0.05
    deadline = start + seconds + drain  # a server that falls behind cannot keep the run going
    tasks = []
    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -0.005:
            late += 1  # the client itself fell behind schedule
        tasks.append(asyncio.ensure_future(one(i, due)))
    done, pending = await asyncio.wait(tasks, timeout=max(0.0, deadline - time.perf_counter()))
    for task in pending:
        task.cancel()
    elapsed = time.perf_counter() - start
    for conn in idle:
        conn.close()
    return {"rate_rps": rate, "seconds": round(elapsed, 2), "requests": total, "errors": sum(kinds.values()),
            "unfinished": len(pending), "achieved_rps": round(len(latencies) / elapsed, 1),
            "connections_used": opened, "client_late_sends": late, "error_kinds": dict(kinds),
            "reconnects": sum(c.reconnects for c in conns), **_percentiles(latencies)}


def _percentiles(latencies) -> dict:
    if not latencies:
        return {"p50_ms": None, "p90_ms": None, "p99_ms": None, "max_ms": None}
    ms = np.asarray(latencies) * 1000
    return {"p50_ms": round(float(np.percentile(ms, 50)), 2), "p90_ms": round(float(np.percentile(ms, 90)), 2),
            "p99_ms": round(float(np.percentile(ms, 99)), 2), "max_ms": round(float(ms.max()), 2)}


def _client_main(plan: dict, queue) -> None:
    """Entry of the load-generator process: run the plan, send the results back."""
    try:
        began = time.process_time()
        results = asyncio.run(_run_plan(plan))
        if isinstance(results, dict) and results.get("requests"):  # the load generator's own share of the cores
            cpu = time.process_time() - began
            results["client_cpu_ms_per_request"] = round(cpu / (results["requests"] + results["warmup_requests"]) * 1000, 3)
        queue.put(results)
    except BaseException as exc:  # report, never hang the parent
        queue.put({"error": repr(exc)})


async def _run_plan(plan):
    host, port, path, bodies = plan["host"], plan["port"], plan["path"], plan["bodies"]
    if plan["phase"] == "saturation":
        warm = await _closed_loop(host, port, path, bodies, 4, plan["warmup"], 10_000)  # not reported
        out = await _closed_loop(host, port, path, bodies, plan["connections"], plan["seconds"], plan["max_requests"])
        return {**out, "warmup_requests": warm["requests"]}
    out = []
    for rate in plan["rates"]:
        if out and ("skipped" in out[-1] or out[-1]["achieved_rps"] < 0.8 * out[-1]["rate_rps"]):
            below = out[-1]["rate_rps"] if "skipped" not in out[-1] else out[-1]["skipped"].split()[-2]
            out.append({"rate_rps": rate, "skipped": f"server saturated below {float(below):.0f} req/s"})
            continue
        await asyncio.sleep(0.5)
        out.append(await _open_loop(host, port, path, bodies, rate, plan["rate_seconds"], plan["max_connections"]))
    return out


def run_client(plan: dict, timeout: float) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_client_main, args=(plan, queue), daemon=True)
    proc.start()
    try:
        return queue.get(timeout=timeout)
    except Exception:
        return {"error": f"load generator gave no result within {timeout:.0f} s"}
    finally:
        proc.join(5)
        if proc.is_alive():
            proc.kill()


# ---------------------------------------------------------------- servers


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


def report_header(name: str, argv: list[str] | None) -> dict:
    """The first keys of a server benchmark's report: its name, the command line and the machine as it was."""
    return {
        "benchmark": name,
        "command": f"python -m benchmarks.{name} " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "nice": os.nice(0), "loadavg_before": [round(v, 2) for v in os.getloadavg()]},
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cmd: list[str], url: str, timeout: float = 90) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{cmd[0:4]} exited: {proc.stderr.read().decode(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return proc
        except OSError as exc:
            if getattr(exc, "code", None):  # an HTTP error status still means it is up
                return proc
        time.sleep(0.25)
    stop(proc)
    raise RuntimeError(f"{cmd[0:4]} did not start within {timeout} s")


def stop(proc: subprocess.Popen) -> None:
    import signal

    try:
        os.killpg(proc.pid, signal.SIGTERM)  # the server and its uvicorn workers: a group we created
        proc.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU time of every process in the group (the server and its workers), from /proc."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields after the command: state ppid pgrp ... utime(11) stime(12)
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


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
