"""Pen-up to reading on screen, in real headless Chromium drawing real handwriting with the mouse.

A real ``digits serve`` runs on a free loopback port; Playwright drives Debian's /usr/bin/chromium.
Each drawing is 1, 2 or 3 digits by one writer of the UCI pendigits training file (the pen
trajectories of 30 people on a tablet, see :mod:`handwritten_digits.data.pendigits`), laid out side by
side on the page's 560x280 drawing pad as :func:`~handwritten_digits.data.pendigits.render_strokes`
lays them out, and drawn stroke by stroke with mouse down / moves / up, pausing ``--point-ms``
between the tablet's points as a hand would (so live readings happen while drawing, as on the page).

Measured in the page (``performance.now()``): the time from the last ``pointerup`` to the moment the
page shows the reading of the finished drawing (``#number[data-settled=true]``, a MutationObserver
timestamp; ``frame`` adds the wait for the next animation frame, i.e. when it can be painted), and
whether the first reading shown after the pen lifts is already right.

    python benchmarks/bench_browser.py                 # 200 drawings -> benchmarks/results/browser.json
    python benchmarks/bench_browser.py --drawings 20   # a quick check
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

from handwritten_digits.data.pendigits import CANVAS, locate_pendigits, place_strokes, read_pendigits
from handwritten_digits.fileio import atomic_write_json

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions"]

# Recorded in the page: every pointerup, and every change of the reading on screen.
PROBE = """
window.__bench = { log: [] };
window.addEventListener("pointerup", () => window.__bench.log.push({ up: performance.now() }), true);
window.addEventListener("DOMContentLoaded", () => {
  const number = document.getElementById("number");
  new MutationObserver(() => {
    const entry = { t: performance.now(), text: number.textContent, settled: number.dataset.settled === "true" };
    window.__bench.log.push(entry);
    requestAnimationFrame(() => { entry.frame = performance.now(); });
  }).observe(number, { childList: true, characterData: true, subtree: true, attributes: true,
                       attributeFilter: ["data-settled"] });
});
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(model: str, port: int, db: Path) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "handwritten_digits", "serve", "--host", "127.0.0.1", "--port", str(port),
           "--model", model, "--feedback-db", str(db), "--log-level", "warning"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise SystemExit("server did not start:\n" + proc.stdout.read().decode(errors="replace"))
        time.sleep(0.2)


def default_pendigits() -> Path | None:
    shared = ROOT.parent / "shared" / "data" / "external" / "pendigits" / "pendigits-orig.tra"
    if not os.environ.get("DIGITS_EXTERNAL_DIR") and shared.exists():
        return shared
    return None


def drawings(path: Path, count: int, seed: int, pen_width: float):
    """``count`` (strokes, label): 1, 2, 3, 1, ... digits, each drawing by one writer (as ``canvas_drawings``)."""
    digits = read_pendigits(path)
    by_writer: dict[int, list[int]] = {}
    for i, d in enumerate(digits):
        by_writer.setdefault(d.writer, []).append(i)
    writers = sorted(by_writer)
    rng = np.random.default_rng(seed)
    for n in range(count):
        pool = by_writer[writers[int(rng.integers(len(writers)))]]
        picks = [digits[i] for i in rng.choice(pool, size=n % 3 + 1, replace=False)]
        yield [[(float(x), float(y)) for x, y in stroke] for stroke in place_strokes(picks, rng, pen_width)], "".join(str(d.label) for d in picks)


def draw(page, box, strokes, point_s: float) -> None:
    sx, sy = box["width"] / CANVAS[0], box["height"] / CANVAS[1]
    for points in strokes:
        page.mouse.move(box["x"] + points[0][0] * sx, box["y"] + points[0][1] * sy)
        page.mouse.down()
        for x, y in points[1:]:
            time.sleep(point_s)
            page.mouse.move(box["x"] + x * sx, box["y"] + y * sy)
        page.mouse.up()
        time.sleep(point_s * 8)  # the hand moves to the next stroke


def measure(page, label: str, timeout_ms: float) -> dict:
    """After the last pen-up: wait for the settled reading, then read the page's log."""
    page.wait_for_function(
        """() => { const log = window.__bench.log; let up = -1;
                   log.forEach((e, i) => { if (e.up !== undefined) up = i; });
                   return up >= 0 && log.slice(up + 1).some((e) => e.settled && e.frame !== undefined); }""",
        timeout=timeout_ms)
    log = page.evaluate("window.__bench.log")
    up_index = max(i for i, e in enumerate(log) if "up" in e)
    t_up = log[up_index]["up"]
    before = [e for e in log[:up_index] if "text" in e]
    after = [e for e in log[up_index + 1:] if "text" in e]
    final = next(e for e in after if e["settled"])
    first = after[0]
    return {
        "label": label,
        "read": final["text"],
        "ms": final["t"] - t_up,
        "frame_ms": final["frame"] - t_up,
        "first_read": first["text"],
        "first_ms": first["t"] - t_up,
        "on_screen_at_pen_up": before[-1]["text"] if before else None,
        "updates_after_pen_up": len(after),
    }


def clear(page) -> None:
    page.keyboard.press("Escape")
    page.wait_for_function("""() => { const n = document.getElementById('number');
                                     return n.dataset.settled === 'true' && n.dataset.empty === 'true'; }""")
    page.evaluate("window.__bench.log = []")


def percentile(values, q) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if values else float("nan")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--drawings", type=int, default=200, help="how many drawings to draw")
    parser.add_argument("--seed", type=int, default=0, help="picks writers, digits and layouts")
    parser.add_argument("--pendigits", type=Path, default=default_pendigits(),
                        help="pendigits-orig.tra ($DIGITS_EXTERNAL_DIR/pendigits, else ../shared/data/external, "
                        "else beside MNIST)")
    parser.add_argument("--model", default="default-int8", help="the model served")
    parser.add_argument("--point-ms", type=float, default=10.0,
                        help="pause between the tablet's pen points while drawing (a hand's pace)")
    parser.add_argument("--pen-width", type=float, default=20.0, help="the page's pen width (its default is 20)")
    parser.add_argument("--chromium", type=Path, default=Path("/usr/bin/chromium"), help="the browser")
    parser.add_argument("--timeout-s", type=float, default=15.0, help="longest wait for a reading")
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "results" / "browser.json",
                        help="results JSON")
    args = parser.parse_args(argv)

    from playwright.sync_api import sync_playwright

    from handwritten_digits import modelcard

    path = locate_pendigits(args.pendigits)
    model = str(modelcard.resolve(args.model))
    port = free_port()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(model, port, Path(tmp) / "feedback.db")
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=str(args.chromium), headless=True, args=ARGS)
                context = browser.new_context(viewport={"width": 1280, "height": 860}, device_scale_factor=1)
                context.add_init_script(PROBE)
                page = context.new_page()
                errors = []
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                page.goto(f"http://127.0.0.1:{port}/")
                page.wait_for_selector("#pad")
                page.evaluate(f"""() => {{ const r = document.getElementById('pen-width'); r.value = {args.pen_width};
                                          r.dispatchEvent(new Event('input')); }}""")
                box = page.locator("#pad").bounding_box()
                for i, (strokes, label) in enumerate(drawings(path, args.drawings, args.seed, args.pen_width)):
                    clear(page)
                    draw(page, box, strokes, args.point_ms / 1000)
                    row = measure(page, label, args.timeout_s * 1000)
                    rows.append(row)
                    if (i + 1) % 20 == 0 or i + 1 == args.drawings:
                        ms = [r["ms"] for r in rows]
                        print(f"{i + 1:4d} drawings  pen-up->reading p50 {percentile(ms, 50):.1f} ms"
                              f"  p99 {percentile(ms, 99):.1f} ms", flush=True)
                browser.close()
                if errors:
                    raise SystemExit(f"JavaScript errors on the page: {errors}")
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()

    ms = [r["ms"] for r in rows]
    frames = [r["frame_ms"] for r in rows]
    result = {
        "benchmark": "browser: pen-up to reading on screen, real mouse strokes in headless Chromium",
        "drawings": len(rows),
        "source": f"pendigits {path.name}, seed {args.seed}, 1-3 digits a drawing",
        "model": args.model,
        "point_ms": args.point_ms,
        "pen_width": args.pen_width,
        "pen_up_to_reading_ms": {"p50": percentile(ms, 50), "p90": percentile(ms, 90),
                                 "p99": percentile(ms, 99), "max": max(ms) if ms else None},
        "pen_up_to_next_frame_ms": {"p50": percentile(frames, 50), "p99": percentile(frames, 99)},
        "share_first_reading_after_pen_up_right": float(np.mean([r["first_read"] == r["label"] for r in rows])),
        "share_final_reading_right": float(np.mean([r["read"] == r["label"] for r in rows])),
        "share_right_on_screen_at_pen_up": float(np.mean([r["on_screen_at_pen_up"] == r["label"] for r in rows])),
        "share_with_an_earlier_reading_after_pen_up": float(np.mean([r["updates_after_pen_up"] > 1 for r in rows])),
        "chromium": args.chromium.name,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "rows": rows,
    }
    atomic_write_json(args.output, result)
    summary = {k: v for k, v in result.items() if k != "rows"}
    print(summary)
    return result


if __name__ == "__main__":
    main()
