"""Rewrite the README's results section from ``benchmarks/results/*.json``.

Only the text between ``<!-- results:start -->`` and ``<!-- results:end -->`` is replaced. Every
measured number in it is read from a results file; a benchmark without a results file is shown as
"not measured yet", never filled in. The published figures beside ours are citations, labelled as
such. The output depends only on the results files, so running it twice gives the same README.

    python -m benchmarks.readme                 # rewrite README.md
    python -m benchmarks.readme --check         # exit 1 if README.md is not up to date
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results"
START, END = "<!-- results:start -->", "<!-- results:end -->"
MISSING = "not measured yet"

# Published MNIST test accuracies, cited beside ours (not measured here).
PUBLISHED = [
    ("PyTorch `examples/mnist` CNN, after 5 epochs", 0.990, "https://github.com/pytorch/examples/tree/main/mnist"),
    ("Keras `mnist_convnet` example", 0.9922, "https://keras.io/examples/vision/mnist_convnet/"),
    ("Best single model (Byerly et al., 2021)", 0.9983, "https://arxiv.org/abs/2001.09136"),
    ("Ensembles (Byerly et al. 2021; An et al. 2020)", "99.87–99.91%", "https://arxiv.org/abs/2008.10400"),
]
ORDER = ["data", "classic", "cnn", "ensemble", "realimage", "external", "load"]


# ---------------------------------------------------------------- formatting


def pct(value, digits: int = 2) -> str:
    return "—" if value is None else f"{100 * float(value):.{digits}f}%"


def num(value, digits: int = 0, unit: str = "") -> str:
    if value is None:
        return "—"
    return f"{float(value):,.{digits}f}{unit}"


def _fmt_value(key: str, value) -> str:
    """A leaf value of a results file, formatted by what its key says it is."""
    if isinstance(value, bool) or value is None:
        return "—" if value is None else ("yes" if value else "no")
    if isinstance(value, (int, float)):
        k = key.lower()
        if ("accuracy" in k or k.endswith("_rate") or k.startswith("error") or "reject" in k) and 0 <= value <= 1:
            return pct(value)
        if "bytes" in k:
            return f"{value / 1e6:.2f} MB"
        if k.endswith("_ms"):
            return num(value, 1, " ms")
        if "seconds" in k or k.endswith("_s"):
            return num(value, 1, " s")
        if isinstance(value, int) or float(value).is_integer():
            return f"{int(value):,}"
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def load_results(results_dir: Path) -> dict[str, dict]:
    """Every ``NAME.json`` in ``results_dir`` (unreadable files are reported, not guessed)."""
    out = {}
    for path in sorted(Path(results_dir).glob("*.json")):
        try:
            out[path.stem] = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            out[path.stem] = {"_error": f"{path.name}: unreadable ({exc})"}
    return out


def usable(results: dict, name: str) -> dict | None:
    """The results file ``name``, or ``None`` when it was not measured or could not be read."""
    res = results.get(name)
    return res if res and "_error" not in res else None


def _provenance(name: str, res: dict) -> str:
    bits = [f"`benchmarks/results/{name}.json`"]
    if res.get("command"):
        bits.append(f"`{res['command'].strip()}`")
    when = res.get("finished") or res.get("started") or res.get("measured_at")
    if when:
        bits.append(str(when)[:10])
    machine = res.get("machine")
    if isinstance(machine, dict) and (machine.get("cpus") or machine.get("cpu_count")):
        bits.append(f"{machine.get('cpus') or machine.get('cpu_count')} CPUs" + (f", {machine['gpu']}" if machine.get("gpu") else ""))
    elif isinstance(machine, str):
        bits.append(machine)
    note = "Source: " + ", ".join(bits) + "."
    if res.get("quick"):
        note += " **Quick smoke run** (small subsets): indicative only."
    return note


def _missing(bench: str) -> str:
    return f"_{MISSING}_ (`python -m benchmarks.bench_{bench}`)."


def _rows(res: dict) -> dict[str, dict]:
    """The per-model rows of a results file: ``models`` (dict or list of dicts with ``model``/``name``)."""
    rows = res.get("models") or res.get("rows") or res.get("runs") or {}
    if isinstance(rows, list):
        rows = {str(r.get("model") or r.get("name") or i): r for i, r in enumerate(rows) if isinstance(r, dict)}
    return {k: v for k, v in rows.items() if isinstance(v, dict)}


def generic_table(rows: dict[str, dict], first: str = "") -> str:
    """A Markdown table of every scalar in each row (columns in first-seen order)."""
    columns: list[str] = []
    for row in rows.values():
        for key, value in row.items():
            if key not in columns and key not in ("model", "name") and (value is None or isinstance(value, (int, float, str, bool))):
                if isinstance(value, str) and len(value) > 40:
                    continue
                columns.append(key)
    if not rows or not columns:
        return ""
    lines = [f"| {first} | " + " | ".join(c.replace("_", " ") for c in columns) + " |",
             "|---|" + "---|" * len(columns)]
    for name, row in rows.items():
        lines.append(f"| {name} | " + " | ".join(_fmt_value(c, row.get(c)) if c in row else "—" for c in columns) + " |")
    return "\n".join(lines)


def generic_section(name: str, res: dict) -> str:
    """A results file whose layout this generator does not know: its rows, or its top-level scalars."""
    rows = _rows(res)
    if not rows:
        rows = {k: v for k, v in res.items() if isinstance(v, dict) and k not in ("machine", "data_checksums")
                and any(isinstance(x, (int, float)) for x in v.values())}
    table = generic_table(rows, "run")
    if not table:
        scalars = {k: v for k, v in res.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        table = "\n".join(f"- {k.replace('_', ' ')}: {_fmt_value(k, v)}" for k, v in scalars.items())
    return (table or "_the results file holds no figures yet_") + "\n\n" + _provenance(name, res)


# ---------------------------------------------------------------- sections


def accuracy_section(results: dict) -> str:
    lines = ["| model | kind | validation | MNIST test | training | source |", "|---|---|---:|---:|---:|---|"]
    measured = 0
    for bench, kind in (("classic", "scikit-learn"), ("cnn", "CNN"), ("ensemble", "ensemble")):
        res = results.get(bench)
        if not res or "_error" in res:
            lines.append(f"| _{kind}_ | {kind} | {MISSING} | {MISSING} | | `bench_{bench}` |")
            continue
        for name, row in _rows(res).items():
            if "test_accuracy" not in row and "val_accuracy" not in row:
                continue
            measured += 1
            seconds = row.get("train_seconds", row.get("seconds"))
            quick = " (quick)" if res.get("quick") else ""
            lines.append(f"| `{name}`{quick} | {kind} | {pct(row.get('val_accuracy'))} | **{pct(row.get('test_accuracy'))}** | "
                         f"{num(seconds, 0, ' s')} | `{bench}.json` |")
    for label, value, url in PUBLISHED:
        shown = value if isinstance(value, str) else pct(value)
        lines.append(f"| [{label}]({url}) | published | | {shown} | | citation |")
    intro = ("Accuracy on the 10,000 MNIST test images (final figures: every model is trained and chosen on "
             "the training split and its 5,000-image validation split). Published results are cited for scale.")
    notes = [_provenance(b, results[b]) for b in ("classic", "cnn", "ensemble") if results.get(b) and "_error" not in results[b]]
    return "\n\n".join([intro, "\n".join(lines)] + notes) if measured or notes else "\n\n".join([intro, "\n".join(lines)])


def time_to_accuracy_section(results: dict) -> str:
    res = results.get("cnn")
    if not res or "_error" in res:
        return "Time to accuracy, our fast recipe beside the PyTorch example recipe: " + _missing("cnn")
    tta = res.get("time_to_accuracy")
    rows = {k: v for k, v in tta.items() if isinstance(v, dict)} if isinstance(tta, dict) else {}
    if not rows:
        return "Time to accuracy: _not in `cnn.json` yet_ (`python -m benchmarks.bench_cnn --only time example`)."
    lines = ["| run | wall time, launch to saved model | epochs | MNIST test accuracy | target reached |",
             "|---|---:|---:|---:|---|"]
    for name, row in rows.items():
        reached = row.get("reached")
        target = f" ({pct(row['target'], 1)})" if isinstance(row.get("target"), (int, float)) else ""
        lines.append(f"| {name} | {num(row.get('seconds'), 1, ' s')} | {num(row.get('epochs'))} | {pct(row.get('test_accuracy'))} | "
                     f"{'—' if reached is None else ('yes' if reached else 'no')}{target} |")
    commands = [f"`{row['command']}`" for row in rows.values() if row.get("command")]
    text = ("Wall time of the whole command (interpreter start, data loading, training, export), beside "
            "PyTorch's `examples/mnist` recipe timed the same way on the same machine:\n\n" + "\n".join(lines))
    if res.get("speedup_to_99_vs_pytorch_example") is not None:
        text += f"\n\nTo 99.0%: **{res['speedup_to_99_vs_pytorch_example']}×** faster than the PyTorch example recipe."
    if commands:
        text += "\n\nCommands: " + "; ".join(commands) + "."
    return text + "\n\n" + _provenance("cnn", res)


def throughput_section(results: dict) -> str:
    parts = []
    rows = []
    for bench in ("classic", "cnn"):
        res = results.get(bench)
        for name, row in (_rows(res).items() if res and "_error" not in res else []):
            if row.get("inference_images_per_s") is not None:
                rows.append(f"| `{name}` | {num(row['inference_images_per_s'])} | "
                            f"{_fmt_value('model_bytes', row['model_bytes']) if 'model_bytes' in row else '—'} | `{bench}.json` |")
    if rows:
        parts.append("Inference through ONNX Runtime (`Recognizer.predict` on 28×28 inputs, batches of 1,000):\n\n"
                     "| model | images/s | model size | source |\n|---|---:|---:|---|\n" + "\n".join(rows))
    else:
        parts.append("Inference throughput: " + _missing("classic"))
    cnn = results.get("cnn") if results.get("cnn") and "_error" not in results["cnn"] else None
    eager = [(n, r) for n, r in (_rows(cnn).items() if cnn else []) if r.get("torch_eager_images_per_s")]
    if eager:
        lines = ["| model | ONNX Runtime, batch 1,000 | PyTorch eager, batch 1,000 | speed-up | ONNX Runtime, one image | PyTorch eager, one image | speed-up |",
                 "|---|---:|---:|---:|---:|---:|---:|"]
        for name, r in eager:
            lines.append(f"| `{name}` | {num(r.get('inference_images_per_s'))}/s | {num(r.get('torch_eager_images_per_s'))}/s | "
                         f"{num(r.get('onnx_speedup_batch'), 1, '×')} | {num(r.get('onnx_single_images_per_s'))}/s | "
                         f"{num(r.get('torch_eager_single_images_per_s'))}/s | {num(r.get('onnx_speedup_single'), 1, '×')} |")
        parts.append("The same CNN in ONNX Runtime and in PyTorch eager mode (from `cnn.json`):\n\n" + "\n".join(lines))
        for name, r in eager:
            q = r.get("int8")
            if isinstance(q, dict) and q.get("images_per_s"):
                parts.append(f"Quantized to int8 (`{q.get('command') or 'digits quantize'}`, bundled as `{q.get('model')}`, "
                             f"{_fmt_value('model_bytes', q['model_bytes']) if 'model_bytes' in q else '?'}): "
                             f"{num(q['images_per_s'])} images/s at batch 1,000, "
                             f"**{num(q.get('speedup_vs_eager'), 1, '×')}** PyTorch eager, MNIST test accuracy "
                             f"{pct(q.get('test_accuracy'))} (float: {pct(r.get('test_accuracy'))}).")
    cold = cnn.get("cold_start") if cnn else None
    if isinstance(cold, dict) and cold.get("median_seconds") is not None:
        parts.append(f"Cold start of `{cold.get('command', 'digits predict')}`: {num(cold['median_seconds'], 2, ' s')} "
                     f"(median of {num(cold.get('runs'))} runs, from `cnn.json`).")

    load = results.get("load")
    if not load or "_error" in load:
        parts.append("Serving throughput (`digits serve` under load): " + _missing("load"))
    else:
        lines = ["| server | saturation (req/s) | p50 | p99 | errors | CPU per request | projected on 2 free cores |",
                 "|---|---:|---:|---:|---:|---:|---:|"]
        for server in load.get("servers", []):
            s = server.get("saturation") or {}
            if "error" in s:
                lines.append(f"| {server.get('name')} | failed: {s['error']} | | | | | |")
                continue
            lines.append(f"| {server.get('name')} | {num(s.get('throughput_rps'), 1)} | {num(s.get('p50_ms'), 1, ' ms')} | "
                         f"{num(s.get('p99_ms'), 1, ' ms')} | {num(s.get('errors'))} | "
                         f"{num(server.get('server_cpu_ms_per_request'), 2, ' ms')} | "
                         f"{num(server.get('projected_rps_on_2_free_cores'), 0, ' req/s')} |")
        rate_rows = []
        for server in load.get("servers", []):
            label = str(server.get("name", "")).split(" - ")[0]
            rates = server.get("rates") or []
            if isinstance(rates, dict) and "error" in rates:
                rate_rows.append(f"| {label} | failed: {rates['error']} | | | | |")
                continue
            for r in rates:
                if isinstance(r, dict) and "rate_rps" in r:
                    rate_rows.append(f"| {label} | {num(r['rate_rps'])} | {num(r.get('achieved_rps'), 1)} | "
                                     f"{num(r.get('p50_ms'), 1, ' ms')} | {num(r.get('p99_ms'), 1, ' ms')} | {num(r.get('errors'))} |")
        kind = (load.get("request") or {}).get("kind", "POST of a canvas PNG")
        body = f"Serving ({kind}, loopback):\n\n" + "\n".join(lines)
        if rate_rows:
            body += ("\n\nLatency at fixed request rates (open loop):\n\n| server | offered req/s | achieved | p50 | p99 | errors |\n"
                     "|---|---:|---:|---:|---:|---:|\n" + "\n".join(rate_rows))
        budget = load.get("budget_at_1000_rps")
        if isinstance(budget, dict) and isinstance(budget.get("parts_ms"), dict):
            body += "\n\n" + budget_table(budget)
        machine = load.get("machine", {})
        if machine.get("loadavg_before"):
            body += (f"\n\nLoad average on the machine during the run: {machine['loadavg_before'][0]:.1f} before, "
                     f"{machine.get('loadavg_after', ['?'])[0]} after (other work on the cores lowers throughput).")
        parts.append(body + "\n\n" + _provenance("load", load))
    return "\n\n".join(parts)


def budget_table(budget: dict) -> str:
    """Where a request's CPU goes, against what the target rate leaves per request."""
    lines = ["| part | CPU per request |", "|---|---:|"]
    lines += [f"| {part} | {num(ms, 2, ' ms')} |" for part, ms in budget["parts_ms"].items()]
    lines.append(f"| **whole, measured** (server and load generator at saturation) | **{num(budget.get('measured_ms'), 2, ' ms')}** |")
    rate, cores = num(budget.get("rate_rps")), num(budget.get("cores"))
    return (f"Where a request's CPU goes (`{budget.get('model')}`), against the "
            f"**{num(budget.get('available_ms'), 2, ' ms')}** per request that {rate} req/s leaves on {cores} cores "
            f"(ceiling at the measured whole: {num(budget.get('ceiling_rps'), 0, ' req/s')}):\n\n" + "\n".join(lines))


def real_image_section(results: dict) -> str:
    res = results.get("realimage")
    if not res or "_error" in res:
        return "Accuracy on photo-like images (naive resize vs our preprocessing): " + _missing("realimage")
    singles, numbers = res.get("singles"), res.get("numbers")
    if not isinstance(singles, dict) and not isinstance(numbers, dict):
        return "Accuracy on photo-like images, naive 28×28 resize vs our preprocessing:\n\n" + generic_section("realimage", res)
    lines = ["| test set | images | naive 28×28 resize | ours | target |", "|---|---:|---:|---:|---:|"]
    if isinstance(singles, dict):
        lines.append(f"| single digits (accuracy) | {num(singles.get('count'))} | {pct(singles.get('naive_accuracy'), 1)} | "
                     f"**{pct(singles.get('ours_accuracy'), 1)}** | {pct(singles.get('target'), 0)} |")
    if isinstance(numbers, dict):
        lines.append(f"| 2–6 digit numbers (exact string) | {num(numbers.get('count'))} | {pct(numbers.get('naive_exact'), 1)} | "
                     f"**{pct(numbers.get('ours_exact'), 1)}** | {pct(numbers.get('target'), 0)} |")
    text = ("Photo-like images built from MNIST **test** digits (off-centre, any scale and polarity, blur, noise, "
            f"uneven light, JPEG), read by the same model (`{res.get('model', '?')}`): the tutorial way "
            "(whole image resized to 28×28) against our preprocessing and segmentation.\n\n" + "\n".join(lines))
    tp = res.get("throughput")
    if isinstance(tp, dict):
        items = [(k, v) for k, v in tp.items() if k.endswith("_per_s")]
        if items:
            text += "\n\nSpeed, one thread: " + ", ".join(f"{k.removesuffix('_per_s').replace('_', ' ')} {num(v, 1)}/s" for k, v in items) + "."
    return text + "\n\n" + _provenance("realimage", res)


def external_section(results: dict) -> str:
    res = results.get("external")
    if res and "_error" not in res:
        return "Other handwriting datasets (never trained on):\n\n" + generic_section("external", res)
    rows = []
    for bench in ("classic", "cnn", "ensemble"):
        found = results.get(bench)
        for name, row in (_rows(found).items() if found and "_error" not in found else []):
            usps = row.get("usps-test_accuracy", row.get("usps_accuracy"))  # zip.test; older runs scored all of USPS
            if usps is not None or "semeion_accuracy" in row:
                rows.append(f"| `{name}` | {pct(row.get('test_accuracy'))} | {pct(usps)} | "
                            f"{pct(row.get('semeion_accuracy'))} | `{bench}.json` |")
    if not rows:
        return "USPS and Semeion (other handwriting, never trained on): " + _missing("cnn")
    return ("Other handwriting, never trained on (USPS scanned postal digits, Semeion binarised digits), "
            "put in the MNIST framing by the package's loaders:\n\n"
            "| model | MNIST test | USPS | Semeion | source |\n|---|---:|---:|---:|---|\n" + "\n".join(rows))


def choice_section(results: dict, name: str = "choice") -> str:
    """The last model choice recorded in ``name``: candidates measured on validation data only, and the one kept."""
    res = results.get(name)
    if not res or "_error" in res:
        return ""
    rows = [f"| `{r['model']}` | {pct(r['mnist_val'])} | {pct(r.get('pendigits_val'))} | {pct(r.get('optdigits_val'))} "
            f"| {pct(r.get('usps_val'))} | {pct(r.get('val_marks_rejected'), 1)} | {pct(r.get('mnist_val_rejected'))} "
            f"| {pct(r['val_photo_digits'], 1)} | {pct(r['val_numbers'], 1)} |"
            for r in res.get("candidates", [])]
    sets = res.get("sets", {})
    return (f"Rule: {res.get('rule')}. Chosen: `{res.get('chosen')}` (the first row is the incumbent).\n\n"
            f"| model | MNIST validation ({num(sets.get('mnist_val'))}) | pendigits ({num(sets.get('pendigits_val'))}) "
            f"| optdigits ({num(sets.get('optdigits_val'))}) | USPS train hold-out ({num(sets.get('usps_val'))}) "
            f"| marks rejected ({num(sets.get('val_marks'))}) | MNIST digits rejected "
            f"| photo digits ({num(sets.get('val_photo_digits'))}) "
            f"| numbers, exact ({num(sets.get('val_numbers'))}) |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n" + "\n".join(rows)
            + "\n\n" + _provenance(name, res))


def data_section(results: dict) -> str:
    res = results.get("data")
    if not res or "_error" in res:
        return "Data loading: " + _missing("data")
    return "Data loading:\n\n" + generic_section("data", res)


CONSUMED = {"models", "rows", "runs", "machine", "data_checksums", "command", "quick", "started", "finished",
            "benchmark", "time_to_accuracy", "servers", "request", "model", "measured_at", "cold_start",
            "speedup_to_99_vs_pytorch_example", "budget_at_1000_rps"}


def leftover_section(name: str, res: dict | None) -> str:
    """Tables for the top-level blocks of a known results file that no section above renders."""
    if not res or "_error" in res:
        return ""
    out = []
    for key, value in res.items():
        if key in CONSUMED:
            continue
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            value = {str(v.get("name") or v.get("model") or i): v for i, v in enumerate(value)}
        if isinstance(value, dict) and value:
            rows = {k: v for k, v in value.items() if isinstance(v, dict)}
            table = generic_table(rows, key.replace("_", " ")) if rows else ""
            if not table:
                scalars = {k: v for k, v in value.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
                table = "\n".join(f"- {key.replace('_', ' ')}, {k.replace('_', ' ')}: {_fmt_value(k, v)}" for k, v in scalars.items())
            if table:
                out.append(table)
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and key not in ("train_images", "val_images", "test_images"):
            out.append(f"- {key.replace('_', ' ')}: {_fmt_value(key, value)}")
    return "\n\n".join(out)


# ---------------------------------------------------------------- plots


def write_plots(results: dict, plots_dir: Path) -> dict[str, Path]:
    """PNG plots from the results (only those whose data exist); returns name -> path."""
    import matplotlib

    from handwritten_digits.fileio import atomic_write_png

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = {}
    bars = []
    for bench in ("classic", "cnn", "ensemble"):
        res = results.get(bench)
        for name, row in (_rows(res).items() if res and "_error" not in res else []):
            if isinstance(row.get("test_accuracy"), (int, float)):
                bars.append((name, 100 * (1 - row["test_accuracy"]), bench))
    if bars:
        from matplotlib.ticker import FixedLocator, NullFormatter

        colours = {"classic": "#8da0cb", "cnn": "#fc8d62", "ensemble": "#66c2a5"}
        fig, ax = plt.subplots(figsize=(7, 0.4 * len(bars) + 2.8), dpi=110)
        names = [b[0] for b in bars]
        ax.barh(names, [b[1] for b in bars], color=[colours[b[2]] for b in bars])
        for y, (_, err, _) in enumerate(bars):
            ax.text(err, y, f" {err:.2f}%", va="center", fontsize=8)
        for (label, value, _), style in zip(PUBLISHED[:3], (":", "--", "-.")):
            ax.axvline(100 * (1 - value), color="#555555", lw=1, ls=style, label=f"{label.replace('`', '')}: {pct(1 - value)} error")
        ticks = [0.1, 0.2, 0.5, 1, 2, 5, 10, 20]
        top = max(b[1] for b in bars) * 2
        ax.set_xscale("log")
        ax.set_xlim(0.1, max(top, 1.5))
        ax.xaxis.set_major_locator(FixedLocator([t for t in ticks if t <= max(top, 1.5)]))
        ax.xaxis.set_major_formatter(lambda v, _: f"{v:g}%")
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set(xlabel="MNIST test error (log scale)", title="Test error by model (lower is better)")
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=1, frameon=False,
                  title="published (cited, not measured here)", title_fontsize=7)
        ax.invert_yaxis()
        fig.tight_layout()
        written["accuracy"] = atomic_write_png(fig, plots_dir / "accuracy.png")
        plt.close(fig)
    cnn = results.get("cnn") if results.get("cnn") and "_error" not in results["cnn"] else {}
    tta = {k: v for k, v in (cnn.get("time_to_accuracy") or {}).items() if isinstance(v, dict) and v.get("seconds")}
    if tta:
        fig, ax = plt.subplots(figsize=(7, 3.6), dpi=110)
        for name, row in tta.items():
            history = [h for h in row.get("history") or [] if isinstance(h, dict) and "seconds" in h and "test_accuracy" in h]
            if history:
                ax.plot([h["seconds"] for h in history], [100 * h["test_accuracy"] for h in history], marker="o", ms=3,
                        color="#8da0cb", label=f"{name} (per epoch)")
            elif isinstance(row.get("test_accuracy"), (int, float)):
                ax.scatter([row["seconds"]], [100 * row["test_accuracy"]], color="#fc8d62", zorder=3)
                ax.annotate(f" {name}", (row["seconds"], 100 * row["test_accuracy"]), fontsize=7)
        ax.axhline(99.0, color="grey", lw=0.8, ls="--")
        ax.set(xscale="log", xlabel="wall time from launch (s, log scale)", ylabel="MNIST test accuracy (%)",
               title="Time to accuracy", ylim=(97.5, 100))
        ax.grid(alpha=0.3, which="both")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="lower right")
        fig.tight_layout()
        written["time"] = atomic_write_png(fig, plots_dir / "time_to_accuracy.png")
        plt.close(fig)
    load = results.get("load")
    servers = [s for s in (load or {}).get("servers", []) if isinstance(s.get("rates"), list)]
    if servers and any(r.get("p50_ms") is not None for s in servers for r in s["rates"] if isinstance(r, dict)):
        fig, ax = plt.subplots(figsize=(7, 3.6), dpi=110)
        for s in servers:
            rates = [r for r in s["rates"] if isinstance(r, dict) and r.get("p99_ms") is not None]
            label = str(s.get("name", "")).split(" - ")[0]
            ax.plot([r["achieved_rps"] for r in rates], [r["p99_ms"] for r in rates], marker="o", label=label)
        ax.set(xlabel="achieved requests/s", ylabel="p99 latency (ms)", yscale="log", title="Serving latency under load")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7)
        fig.tight_layout()
        written["serving"] = atomic_write_png(fig, plots_dir / "serving.png")
        plt.close(fig)
    return written


# ---------------------------------------------------------------- the section


def render(results: dict, plots: dict[str, Path] | None = None, readme_dir: Path = ROOT) -> str:
    """The Markdown between the markers (without them)."""
    from benchmarks import readme_openset, readme_pages, readme_reading, readme_reliability  # they use this module's formatting helpers

    plots = plots or {}

    def image(name: str, alt: str) -> str:
        if name not in plots:
            return ""
        rel = os.path.relpath(plots[name], readme_dir).replace(os.sep, "/")
        return f"\n\n![{alt}]({rel})"

    broken = [res["_error"] for res in results.values() if "_error" in res]
    accurate_choice = choice_section(results, "choice-accurate")
    parts = [
        "## Results",
        "_Generated by `python -m benchmarks.run_all` from `benchmarks/results/*.json`; do not edit by hand._",
        "### Accuracy on MNIST",
        accuracy_section(results) + image("accuracy", "MNIST test error by model"),
        "### Time to accuracy",
        time_to_accuracy_section(results) + image("time", "test accuracy against wall time"),
        "### Speed: inference and serving",
        throughput_section(results) + image("serving", "p99 latency against request rate"),
        "### Real images",
        real_image_section(results),
        "### Reading pipeline: speed, bounded work, every core",
        readme_reading.section(results),
        "### Whole pages: lines of numbers, beside general OCR",
        readme_pages.section(results, image("page-errors", "digits misread on the page only, beside the MNIST digits they came from")),
        "### Not a digit, and writers beyond MNIST",
        readme_openset.section(results, image("openset", "risk-coverage per source, and the not-a-digit threshold's trade-off")),
        "### Reliability: hostile input",
        readme_reliability.reliability_section(results),
        "### Other datasets",
        external_section(results),
        "### Model choice (validation only)",
        choice_section(results) or "_no choice recorded_ (`python -m benchmarks.choose_on_validation default CANDIDATE...`).",
        accurate_choice and "The `accurate` ensemble, chosen by the same rule:\n\n" + accurate_choice,
        "### Data",
        data_section(results),
    ]
    for name in ("cnn", "ensemble", "load", "classic"):  # figures the sections above do not show
        extra = leftover_section(name, results.get(name))
        if extra:
            parts += [f"More from `{name}.json`:", extra]
    known = (set(ORDER) | {"ensemble", "choice", "choice-accurate", "reliability"} | set(readme_reading.FILES) | set(readme_pages.FILES)
             | set(readme_openset.FILES))
    for name in sorted(set(results) - known):
        if "_error" not in results[name]:
            parts += [f"### {name}", generic_section(name, results[name])]
    if broken:
        parts += ["Unreadable results files: " + "; ".join(broken)]
    return "\n\n".join(p for p in parts if p) + "\n"


def readme_plots(results: dict, plots_dir: Path, draw_dir: Path | None = None) -> dict[str, Path]:
    """The README's plots, name -> path in ``plots_dir``: those drawn here from the results (written to
    ``draw_dir``, default ``plots_dir``) and those their benchmark draws itself."""
    plots = {name: plots_dir / path.name for name, path in write_plots(results, draw_dir or plots_dir).items()}
    for name in ("openset", "page-errors"):  # drawn by the benchmark itself
        if name in results and (plots_dir / f"{name}.png").exists():
            plots[name] = plots_dir / f"{name}.png"
    return plots


def update_readme(readme: Path, results_dir: Path = RESULTS, plots_dir: Path | None = None) -> bool:
    """Replace the results section of ``readme``; returns whether the file changed."""
    readme = Path(readme)
    text = readme.read_text()
    if text.count(START) != 1 or text.count(END) != 1 or text.index(START) > text.index(END):
        raise SystemExit(f"{readme}: needs exactly one '{START}' followed by one '{END}'")
    results = load_results(results_dir)
    plots_dir = plots_dir if plots_dir is not None else Path(results_dir) / "plots"
    section = render(results, readme_plots(results, plots_dir), readme.parent)
    before, rest = text.split(START, 1)
    _, after = rest.split(END, 1)
    new = f"{before}{START}\n{section}{END}{after}"
    if new != text:
        from handwritten_digits.fileio import atomic_write_text

        atomic_write_text(readme, new)
        return True
    return False


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Rewrite the README results section from benchmarks/results/*.json.",
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--readme", default=str(ROOT / "README.md"), help="README to update")
    p.add_argument("--results", default=str(RESULTS), help="folder of results JSON files")
    p.add_argument("--check", action="store_true", help="only check: exit 1 if the README would change")
    args = p.parse_args(argv)
    if args.check:
        import tempfile

        results = load_results(Path(args.results))
        with tempfile.TemporaryDirectory() as tmp:  # plots are drawn there: a check writes nothing
            section = render(results, readme_plots(results, Path(args.results) / "plots", Path(tmp)), Path(args.readme).parent)
        text = Path(args.readme).read_text()
        current = text.split(START, 1)[1].split(END, 1)[0] if START in text else None
        if current != "\n" + section:
            print(f"{args.readme}: results section is out of date (python -m benchmarks.readme)", file=sys.stderr)
            return 1
        return 0
    changed = update_readme(Path(args.readme), Path(args.results))
    print(f"{args.readme}: results section {'updated' if changed else 'already up to date'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
