"""Worst-case images: how long one reading can take, and whether the server's probes stay quick meanwhile.

Images built to be costly for the reading stages (see :func:`worst_images`): the stripe PNG of the
issue (447x447, a one-pixel black vertical stripe every third column on white) and its 1000x1000
version, a one-pixel checkerboard, dense random dots, concentric rings, a dense grid of tiny digits,
gray noise, a long zigzag (one wide piece full of cut candidates) and a very wide, thin image.

Three measurements:

* in process, one thread (ONNX Runtime and OpenCV on one thread each): the median time of
  ``Reader.read`` on each image's PNG bytes over ``--runs`` readings (decode included), the decode
  and ink stages alone, and the ``limits`` (caps on work reached) the reading reports;
* against a real ``digits serve`` (uvicorn workers, as ``bench_load`` starts it): ``/healthz``
  latency, polled every ``--poll-ms`` on a new connection each time (as an orchestrator probes),
  first on an idle server and then while ``--in-flight`` clients post the worst images continuously
  for ``--seconds`` (each post on a new connection too, so that every worker gets its share);
* on the same server, the page's canvas requests (``bench_load``'s canvases, ``--canvas-rate`` per
  second) while one client posts the slowest image continuously: one slow image must not stall them.

Targets (issue 13): every image read in at most 50 ms; healthz p99 at most 100 ms with eight in flight.
Results go to ``benchmarks/results/worst.json``.

    python -m benchmarks.bench_worst                # ~1 minute
    python -m benchmarks.bench_worst --skip-server  # the in-process readings only
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results" / "worst.json"
READ_TARGET_MS = 50.0
HEALTHZ_TARGET_MS = 100.0


# ---------------------------------------------------------------- the images


def png(gray: np.ndarray) -> bytes:
    """An 8-bit grayscale PNG of ``gray`` (uint8, 0 black)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(gray, dtype=np.uint8), mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


def stripes(width: int, height: int, every: int = 3) -> np.ndarray:
    """White paper with a one-pixel black vertical stripe every ``every`` columns (the issue's image)."""
    img = np.full((height, width), 255, np.uint8)
    img[:, ::every] = 0
    return img


def checkerboard(side: int) -> np.ndarray:
    """One-pixel black and white squares: every black pixel touches four others diagonally."""
    y, x = np.indices((side, side))
    return np.where((x + y) % 2 == 0, 0, 255).astype(np.uint8)


def dots(side: int, density: float = 0.1, seed: int = 0) -> np.ndarray:
    """Isolated black pixels scattered on white paper: thousands of tiny components."""
    rng = np.random.default_rng(seed)
    return np.where(rng.random((side, side)) < density, 0, 255).astype(np.uint8)


def rings(side: int, spacing: int = 6, width: float = 1.5) -> np.ndarray:
    """Concentric black rings on white: nested pieces that overlap every other in x."""
    y, x = np.indices((side, side)) - (side - 1) / 2
    r = np.hypot(x, y)
    return np.where((r % spacing) < width, 0, 255).astype(np.uint8)


def tiny_digits(side: int, cell: int = 12) -> np.ndarray:
    """A dense grid of small printed digits (Pillow's bitmap font, about 6x11 px each)."""
    from PIL import Image, ImageDraw

    img = Image.new("L", (side, side), 255)
    draw = ImageDraw.Draw(img)
    for row, top in enumerate(range(0, side - cell, cell)):
        line = "".join(str((row + k) % 10) for k in range(side // 7))
        draw.text((1, top), line, fill=0)
    return np.asarray(img)


def noise(side: int, seed: int = 1) -> np.ndarray:
    """Uniform gray noise: no paper, no strokes."""
    return np.random.default_rng(seed).integers(0, 256, (side, side), dtype=np.uint8)


def zigzag(width: int, height: int, period: int = 200, stroke: int = 16) -> np.ndarray:
    """One long zigzag stroke across the image: a single piece many line heights wide, cut candidates everywhere."""
    import cv2

    img = np.full((height, width), 255, np.uint8)
    xs = np.arange(0, width + period, period // 2)
    ys = np.where(np.arange(len(xs)) % 2 == 0, height // 8, height - height // 8)
    cv2.polylines(img, [np.stack([xs, ys], axis=1).astype(np.int32)], False, 0, stroke)
    return img


def worst_images() -> dict[str, bytes]:
    """The worst-case PNGs by name."""
    return {
        "stripes 447x447 (the issue's)": png(stripes(447, 447)),
        "stripes 1000x1000": png(stripes(1000, 1000)),
        "checkerboard 1000x1000 (1 px)": png(checkerboard(1000)),
        "random dots 1000x1000 (10%)": png(dots(1000)),
        "concentric rings 1000x1000": png(rings(1000)),
        "tiny digits grid 1000x1000": png(tiny_digits(1000)),
        "gray noise 1000x1000": png(noise(1000)),
        "zigzag 4000x400 (one wide piece)": png(zigzag(4000, 400)),
        "wide thin 30000x10 (stripes)": png(stripes(30000, 10)),
    }


# ---------------------------------------------------------------- in process


def read_times(images: dict[str, bytes], model: str, runs: int) -> list[dict]:
    """Median wall and CPU time of ``Reader.read`` on each PNG (one thread), the stages before it, and its limits."""
    import cv2

    from handwritten_digits.reading import decode, ink
    from handwritten_digits.reading.reader import Reader

    cv2.setNumThreads(1)  # one thread, as the server's reading threads should get
    reader = Reader.load(model, threads=1)
    reader.read(next(iter(images.values())))  # sessions warmed up
    out = []
    for name, data in images.items():
        walls, cpus, decodes, inks = [], [], [], []
        result = None
        for _ in range(runs):
            t, c = time.perf_counter(), time.thread_time()
            result = reader.read(data)
            walls.append(time.perf_counter() - t)
            cpus.append(time.thread_time() - c)
            t = time.perf_counter()
            gray = decode.decode(data, max_side=ink.WORK_SIDE)
            decodes.append(time.perf_counter() - t)
            t = time.perf_counter()
            inkmap = ink.find_ink(gray)
            inks.append(time.perf_counter() - t)
        def ms(times) -> float:
            return round(statistics.median(times) * 1000, 2)

        entry = {
            "image": name, "png_bytes": len(data), "read_ms": ms(walls), "read_cpu_ms": ms(cpus),
            "max_read_ms": round(max(walls) * 1000, 2), "decode_ms": ms(decodes), "ink_ms": ms(inks),
            # the later stages (segmentation, normalisation, networks), roughly: medians of separate runs
            "after_ink_ms": max(0.0, round(ms(walls) - ms(decodes) - ms(inks), 2)),
            "components": int(inkmap.count), "work_shape": list(inkmap.mask.shape),
            "digits": len(result.digits), "text": result.text[:40], "limits": list(result.limits),
            "within_target": ms(walls) <= READ_TARGET_MS,
        }
        out.append(entry)
        print(f"  {name}: {entry['read_ms']} ms (decode {entry['decode_ms']}, ink {entry['ink_ms']}, "
              f"rest {entry['after_ink_ms']}), {entry['components']} components, {entry['digits']} digits, "
              f"limits {entry['limits']}", file=sys.stderr, flush=True)
    return out


# ---------------------------------------------------------------- against the server


def _percentiles(ms: list[float]) -> dict:
    if not ms:
        return {"count": 0, "p50_ms": None, "p99_ms": None, "max_ms": None}
    a = np.asarray(ms)
    return {"count": len(ms), "p50_ms": round(float(np.percentile(a, 50)), 2),
            "p99_ms": round(float(np.percentile(a, 99)), 2), "max_ms": round(float(a.max()), 2)}


async def _poll_healthz(host: str, port: int, seconds: float, every: float) -> list[float]:
    """Latencies (ms) of ``GET /healthz`` every ``every`` s, each on a new connection as an orchestrator's
    probe is (so it lands on whichever worker accepts it, never one chosen by an earlier probe)."""
    from benchmarks.load_client import Connection

    head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    out = []
    stop = time.perf_counter() + seconds
    while (now := time.perf_counter()) < stop:
        conn = Connection(host, port)
        try:
            status = await asyncio.wait_for(conn.request(head, b""), timeout=10)
        except (OSError, ConnectionError, asyncio.IncompleteReadError, asyncio.TimeoutError):
            status = None
        conn.close()
        # a probe that failed or timed out counts as slow as the timeout: never dropped from the tail
        out.append((time.perf_counter() - now) * 1000 if status == 200 else 10_000.0)
        await asyncio.sleep(max(0.0, every - (time.perf_counter() - now)))
    return out


async def _post_loop(host, port, bodies: list[tuple[str, bytes]], k: int, stop: float, log: list) -> None:
    """Post the images one after another, each on a new connection: it goes to whichever worker accepts it
    first, so every worker gets its share (keep-alive would pin all of them to the workers that accepted first)."""
    from benchmarks.load_client import Connection, request_heads

    heads = request_heads("/api/v1/recognize", [b for _, b in bodies])
    i = k
    while time.perf_counter() < stop:
        name, body = bodies[i % len(bodies)]
        conn = Connection(host, port)
        t = time.perf_counter()
        try:
            status = await asyncio.wait_for(conn.request(heads[i % len(bodies)], body), timeout=60)
        except (OSError, ConnectionError, asyncio.IncompleteReadError, asyncio.TimeoutError) as exc:
            status = type(exc).__name__
        conn.close()
        log.append((name, status, (time.perf_counter() - t) * 1000))
        i += 1


async def _under_load(host, port, images: dict[str, bytes], in_flight: int, seconds: float, every: float):
    bodies = list(images.items())
    log: list = []
    stop = time.perf_counter() + seconds
    posters = [asyncio.ensure_future(_post_loop(host, port, bodies, k, stop, log)) for k in range(in_flight)]
    await asyncio.sleep(0.2)  # the readings are under way before the first probe
    health = await _poll_healthz(host, port, seconds - 0.2, every)
    await asyncio.gather(*posters)
    return health, log


async def _canvases_beside_one_slow(host, port, slow: bytes, canvases: list[bytes], seconds: float, rate: float):
    """Canvas requests at ``rate`` per second (each on a new connection) while one client posts ``slow``
    continuously: how long the page waits when one slow image is being read. Canvas latencies (ms)."""
    from benchmarks.load_client import Connection, request_heads

    stop = time.perf_counter() + seconds
    log: list = []
    canvas_ms: list[float] = []

    async def one_canvas(i):
        conn = Connection(host, port)
        t = time.perf_counter()
        try:
            status = await asyncio.wait_for(conn.request(heads[i % len(canvases)], canvases[i % len(canvases)]), timeout=30)
        except (OSError, ConnectionError, asyncio.IncompleteReadError, asyncio.TimeoutError):
            status = None
        conn.close()
        canvas_ms.append((time.perf_counter() - t) * 1000 if status == 200 else 30_000.0)

    heads = request_heads("/api/v1/recognize", canvases)
    poster = asyncio.ensure_future(_post_loop(host, port, [("slow", slow)], 0, stop, log))
    await asyncio.sleep(0.2)
    tasks, i = [], 0
    while time.perf_counter() < stop:
        tasks.append(asyncio.ensure_future(one_canvas(i)))
        i += 1
        await asyncio.sleep(1 / rate)
    await asyncio.gather(poster, *tasks)
    return canvas_ms, len(log)


def server_probes(images: dict[str, bytes], args, slowest: str | None = None) -> dict:
    """``/healthz`` latency on an idle server, then with ``--in-flight`` worst images posted continuously;
    then the page's canvas requests beside one client posting the ``slowest`` image."""
    from benchmarks.servers import free_port, start, stop

    port = free_port()
    cmd = [sys.executable, "-m", "handwritten_digits", "serve", "--host", "127.0.0.1", "--port", str(port),
           "--workers", str(args.workers), "--threads", "1", "--model", args.model, "--log-level", "warning",
           "--feedback-db", os.devnull]
    if args.reading_threads:
        cmd += ["--reading-threads", str(args.reading_threads)]
    proc = start(cmd, f"http://127.0.0.1:{port}/readyz")
    try:
        idle = asyncio.run(_poll_healthz("127.0.0.1", port, min(2.0, args.seconds), args.poll_ms / 1000))
        health, log = asyncio.run(_under_load("127.0.0.1", port, images, args.in_flight, args.seconds, args.poll_ms / 1000))
        beside = None
        if slowest and args.canvas_rate > 0:
            from benchmarks.bench_load import canvas_pngs

            canvases = canvas_pngs(16, data_dir=args.data_dir)
            canvas_ms, slow_done = asyncio.run(_canvases_beside_one_slow(
                "127.0.0.1", port, images[slowest], canvases, args.seconds, args.canvas_rate))
            beside = {"slow_image": slowest, "slow_posts_completed": slow_done, "canvas_rate_rps": args.canvas_rate,
                      "canvas": _percentiles(canvas_ms)}
    finally:
        stop(proc)
    per_image = {}
    for name, status, ms in log:
        entry = per_image.setdefault(name, {"statuses": {}, "ms": []})
        entry["statuses"][str(status)] = entry["statuses"].get(str(status), 0) + 1
        entry["ms"].append(ms)
    loaded = _percentiles(health)
    return {
        "command": " ".join(cmd), "in_flight": args.in_flight, "seconds": args.seconds, "poll_ms": args.poll_ms,
        "healthz_idle": _percentiles(idle), "healthz_with_worst_in_flight": loaded,
        "healthz_within_target": loaded["p99_ms"] is not None and loaded["p99_ms"] <= HEALTHZ_TARGET_MS,
        "posts": {name: {"statuses": e["statuses"], **{k: v for k, v in _percentiles(e["ms"]).items() if k != "count"}}
                  for name, e in per_image.items()},
        "posts_completed": len(log),
        "canvases_beside_one_slow_image": beside,
    }


# ---------------------------------------------------------------- main


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Worst-case images: reading time per image, and the probes while they are read.",
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", default="default-int8", help="model read with (name, .onnx file or folder); the server's default")
    p.add_argument("--runs", type=int, default=5, help="readings per image in process (the median is reported)")
    p.add_argument("--workers", type=int, default=2, help="uvicorn worker processes of the server")
    p.add_argument("--reading-threads", type=int, default=None,
                   help="the server's reading threads per worker (None: digits serve's own default)")
    p.add_argument("--in-flight", type=int, default=8, help="clients posting worst images continuously")
    p.add_argument("--seconds", type=float, default=5.0, help="length of the probe phase under load")
    p.add_argument("--poll-ms", type=float, default=20.0, help="healthz polling period (ms)")
    p.add_argument("--canvas-rate", type=float, default=20.0,
                   help="canvas requests per second beside one client posting the slowest image (0: skip that phase)")
    p.add_argument("--data-dir", default=None,
                   help="MNIST folder for the canvases (None: as bench_load finds it)")
    p.add_argument("--only", nargs="+", default=None, metavar="WORD",
                   help="only the images whose name contains one of these words (None: all)")
    p.add_argument("--skip-server", action="store_true", help="in-process readings only (no server, no probes)")
    p.add_argument("--out", default=str(RESULTS), help="results JSON")
    args = p.parse_args(argv)

    from handwritten_digits import modelcard
    from handwritten_digits.fileio import atomic_write_json

    args.model = str(modelcard.resolve(args.model))
    if args.data_dir is None and not os.environ.get("DIGITS_DATA_DIR"):
        from benchmarks.bench_load import SHARED_MNIST

        args.data_dir = str(SHARED_MNIST) if SHARED_MNIST.is_dir() else None
    images = worst_images()
    if args.only:
        images = {k: v for k, v in images.items() if any(w.lower() in k.lower() for w in args.only)}
        if not images:
            p.error(f"--only {args.only}: no image name contains these words")
    from benchmarks.servers import report_header

    report = {
        **report_header("bench_worst", argv),
        "model": Path(args.model).stem,
        "targets": {"read_ms": READ_TARGET_MS, "healthz_p99_ms": HEALTHZ_TARGET_MS},
    }
    print("readings in process (one thread) ...", file=sys.stderr, flush=True)
    report["readings"] = read_times(images, args.model, args.runs)
    slowest = max(report["readings"], key=lambda r: r["read_ms"])
    report["slowest"] = {"image": slowest["image"], "read_ms": slowest["read_ms"]}
    report["all_within_read_target"] = all(r["within_target"] for r in report["readings"])
    if not args.skip_server:
        print(f"healthz with {args.in_flight} worst images in flight ...", file=sys.stderr, flush=True)
        report["server"] = server_probes(images, args, slowest["image"])
    report["machine"]["loadavg_after"] = [round(v, 2) for v in os.getloadavg()]
    if max(report["machine"]["loadavg_before"][0], os.getloadavg()[0]) > 0.5 * (os.cpu_count() or 1):
        report["notes"] = ["other work was running (see loadavg): times are inflated; re-run on idle cores"]
    out = atomic_write_json(Path(args.out), report)

    for r in report["readings"]:
        mark = "ok " if r["within_target"] else "SLOW"
        print(f"{mark} {r['read_ms']:>8.1f} ms  {r['image']}  limits={r['limits']}")
    if "server" in report:
        s = report["server"]
        h, i = s["healthz_with_worst_in_flight"], s["healthz_idle"]
        print(f"healthz idle: p50 {i['p50_ms']} ms, p99 {i['p99_ms']} ms; with {s['in_flight']} in flight: "
              f"p50 {h['p50_ms']} ms, p99 {h['p99_ms']} ms, max {h['max_ms']} ms ({h['count']} probes)"
              f" - target p99 <= {HEALTHZ_TARGET_MS:.0f} ms: {'met' if s['healthz_within_target'] else 'MISSED'}")
        if s.get("canvases_beside_one_slow_image"):
            b = s["canvases_beside_one_slow_image"]
            c = b["canvas"]
            print(f"canvases at {b['canvas_rate_rps']:.0f} req/s beside one client posting '{b['slow_image']}': "
                  f"p50 {c['p50_ms']} ms, p99 {c['p99_ms']} ms, max {c['max_ms']} ms ({c['count']} requests)")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
