"""README sections on reading images: the pipeline before and after its rewrite, bounded work, every core.

Rendered by :func:`benchmarks.readme.render` from ``reading.json`` (speed, before/after),
``readings-compare.json`` (every reading before/after), ``worst.json`` (worst images) and
``predict.json`` (``digits predict`` on all cores). A file not yet measured says so.
"""

from __future__ import annotations

from benchmarks.readme import _missing, num, pct, usable

FILES = ("reading", "readings-compare", "readings-before", "readings-after", "worst", "predict", "browser")
SPEED_ROWS = (
    ("canvas_request", "CPU per canvas request body (280×140 PNG), median", "median_ms", " ms"),
    ("photo_numbers", "photo-like numbers read per second, one core", "per_s", "/s"),
    ("phone_jpeg_8_12mp", "8–12 MP phone JPEG, median", "median_ms", " ms"),
    ("stripes_447", "447×447 stripe PNG (issue 13)", "median_ms", " ms"),
    ("stripes_1000", "1000×1000 stripe PNG", "median_ms", " ms"),
)


def speed_section(results: dict) -> str:
    res = usable(results, "reading")
    if not res or "after" not in res:
        return "Reading speed: " + _missing("reading")
    labels = [k for k in ("before", "after") if k in res]
    lines = ["| one process, one thread | " + " | ".join(labels) + " |", "|---|" + "---:|" * len(labels)]
    for key, title, field, unit in SPEED_ROWS:
        cells = [num(res[k]["figures"].get(key, {}).get(field), 1, unit) for k in labels]
        lines.append(f"| {title} | " + " | ".join(cells) + " |")
    commands = "; ".join(f"{k}: `{res[k]['command']}`" for k in labels)
    return ("In process, before any HTTP (`benchmarks/results/reading.json`, model `default-int8`; "
            f"{commands}; *before* is the pipeline at commit 2dc33aa, run from a worktree):\n\n" + "\n".join(lines))


def readings_section(results: dict) -> str:
    res = usable(results, "readings-compare")
    if not res:
        return "Readings before and after: " + _missing("readings-compare")
    lines = ["| set | images | exact before | exact after | text changed | fixed | broken | boxes moved |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, row in res.get("sets", {}).items():
        lines.append(f"| {name} | {row.get('count', '—')} | {pct(row.get('before_exact'))} | {pct(row.get('after_exact'))} | "
                     f"{row.get('changed', '—')} | {row.get('fixed', '—')} | {row.get('broken', '—')} | "
                     f"{row.get('boxes_moved', '—')} |")
    source = (usable(results, "readings-before") or {}).get("source", {})
    before = source.get("commit", "")[:7] or "—"
    edited = len(source.get("edited_files") or [])  # recorded beside uncommitted work (a model being bundled)
    before += f" and {edited} files edited on it" if edited else ""
    change = res.get("change") or "the latest change to reading"
    return (f"Every reading before (commit {before}) and after {change}, image by "
            "image (`python -m benchmarks.record_readings`, then `python -m benchmarks.compare_readings`; records in "
            "`benchmarks/results/readings-*.json`):\n\n" + "\n".join(lines))


def worst_section(results: dict) -> str:
    res = usable(results, "worst")
    if not res:
        return "Worst-case images: " + _missing("worst")
    target = res.get("targets", {}).get("read_ms")
    lines = ["| image | read, median | ink stage | after ink | limits reached |", "|---|---:|---:|---:|---|"]
    for row in res.get("readings", []):
        lines.append(f"| {row.get('image')} | {num(row.get('read_ms'), 1, ' ms')} | {num(row.get('ink_ms'), 1, ' ms')} | "
                     f"{num(row.get('after_ink_ms'), 1, ' ms')} | {', '.join(row.get('limits') or []) or '—'} |")
    server = res.get("server") or {}
    busy, idle = server.get("healthz_with_worst_in_flight") or {}, server.get("healthz_idle") or {}
    tail = ""
    if busy:
        tail = (f"\n\n`/healthz` on a 2-worker server with {server.get('in_flight', '—')} clients posting these images "
                f"without pause: p50 {num(busy.get('p50_ms'), 1, ' ms')}, p99 {num(busy.get('p99_ms'), 1, ' ms')}, max "
                f"{num(busy.get('max_ms'), 1, ' ms')} ({busy.get('count', '—')} probes; idle p99 "
                f"{num(idle.get('p99_ms'), 1, ' ms')}).")
    return (f"Worst images, one thread in process (`{res.get('command', 'python -m benchmarks.bench_worst')}`; "
            f"target {num(target, 0, ' ms')} each):\n\n" + "\n".join(lines) + tail)


def predict_section(results: dict) -> str:
    res = usable(results, "predict")
    if not res:
        return "`digits predict` on every core: " + _missing("predict")
    runs = res.get("runs", {})
    lines = ["| run | workers | threads | seconds | images/s |", "|---|---:|---|---:|---:|"]
    for name, row in runs.items():
        lines.append(f"| {name.replace('_', ' ')} | {row.get('workers')} | {row.get('threads')} | "
                     f"{num(row.get('seconds'), 2)} | {num(row.get('images_per_s'), 1)} |")
    speed = res.get("speedup", {})
    return (f"`digits predict` over {res.get('images', {}).get('count', '—')} photo-like images (`{res.get('command')}`): "
            f"all cores against one process {num(speed.get('vs_one_process'), 2, '×')}, against one process on one "
            f"thread {num(speed.get('vs_one_process_one_thread'), 2, '×')}; identical output: "
            f"{'yes' if res.get('identical_outputs') else 'no'}.\n\n" + "\n".join(lines))


def browser_section(results: dict) -> str:
    res = usable(results, "browser")
    if not res:
        return "The page, pen-up to reading: " + _missing("browser")
    t = res.get("pen_up_to_reading_ms", {})
    return (f"The drawing page in headless Chromium, {res.get('drawings', '—')} drawings made of real mouse strokes "
            f"({res.get('source', 'pendigits')}; `python benchmarks/bench_browser.py`): pen-up to the final reading on "
            f"screen p50 {num(t.get('p50'), 1, ' ms')}, p90 {num(t.get('p90'), 1, ' ms')}, p99 {num(t.get('p99'), 1, ' ms')}, "
            f"max {num(t.get('max'), 1, ' ms')} (targets 50 / 150 ms); the first reading shown after pen-up was already "
            f"right for {pct(res.get('share_first_reading_after_pen_up_right'), 1)} of the drawings, and right on screen "
            f"while drawing, at pen-up, for {pct(res.get('share_right_on_screen_at_pen_up'), 1)}.")


def section(results: dict) -> str:
    return "\n\n".join([speed_section(results), readings_section(results), worst_section(results), predict_section(results),
                        browser_section(results)])
