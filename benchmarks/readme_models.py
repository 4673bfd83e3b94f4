"""README sections on the models: accuracy on MNIST, time to accuracy, speed and serving, photo-like
images, other datasets and the choice on validation (``classic``, ``cnn``, ``ensemble``, ``load``,
``realimage``, ``choice*`` results files)."""

from __future__ import annotations

from benchmarks.readme import MISSING, _fmt_value, _missing, _provenance, _rows, generic_section, num, pct

# Published MNIST test accuracies, cited beside ours (not measured here).
PUBLISHED = [
    ("PyTorch `examples/mnist` CNN, after 5 epochs", 0.990, "https://github.com/pytorch/examples/tree/main/mnist"),
    ("Keras `mnist_convnet` example", 0.9922, "https://keras.io/examples/vision/mnist_convnet/"),
    ("Best single model (Byerly et al., 2021)", 0.9983, "https://arxiv.org/abs/2001.09136"),
    ("Ensembles (Byerly et al. 2021; An et al. 2020)", "99.87–99.91%", "https://arxiv.org/abs/2008.10400"),
]


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
    sets = res.get("sets", {})
    pages = "val_pages" in sets  # choices recorded before the pages were read have no such column
    rows = [f"| `{r['model']}` | {pct(r['mnist_val'])} | {pct(r.get('pendigits_val'))} | {pct(r.get('optdigits_val'))} "
            f"| {pct(r.get('usps_val'))} | {pct(r.get('coarse_val'))} | {pct(r.get('optdigits_8x8_val'))} "
            f"| {pct(r.get('val_marks_rejected'), 1)} | {pct(r.get('mnist_val_rejected'))} "
            f"| {pct(r['val_photo_digits'], 1)} | {pct(r['val_numbers'], 1)} |"
            + (f" {pct(r.get('val_page_lines'), 1)} |" if pages else "")
            for r in res.get("candidates", [])]
    return (f"Rule: {res.get('rule')}. Chosen: `{res.get('chosen')}` (the first row is the incumbent).\n\n"
            f"| model | MNIST validation ({num(sets.get('mnist_val'))}) | pendigits ({num(sets.get('pendigits_val'))}) "
            f"| optdigits ({num(sets.get('optdigits_val'))}) | USPS train hold-out ({num(sets.get('usps_val'))}) "
            f"| coarse scans ({num(sets.get('coarse_val'))}) | optdigits as 8x8 ({num(sets.get('optdigits_8x8_val'))}) "
            f"| marks rejected ({num(sets.get('val_marks'))}) | MNIST digits rejected "
            f"| photo digits ({num(sets.get('val_photo_digits'))}) "
            f"| numbers, exact ({num(sets.get('val_numbers'))}) |"
            + (f" page lines, exact ({num(sets.get('val_pages'))} pages) |" if pages else "")
            + "\n|---|" + "---:|" * (11 if pages else 10) + "\n" + "\n".join(rows)
            + "\n\n" + _provenance(name, res))
