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
        bits.append(f"{machine.get('cpus') or machine.get('cpu_count')} CPUs" + (f" ({machine['cpu']})" if machine.get("cpu") else "")
                    + (f", {machine['gpu']}" if machine.get("gpu") else ""))
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


# ---------------------------------------------------------------- the section


def render(results: dict, plots: dict[str, Path] | None = None, readme_dir: Path = ROOT) -> str:
    """The Markdown between the markers (without them)."""
    # they use this module's formatting helpers, so they are imported here, not at the top
    from benchmarks import readme_openset, readme_pages, readme_reading, readme_reliability
    from benchmarks.readme_models import (accuracy_section, choice_section, external_section, real_image_section,
                                          throughput_section, time_to_accuracy_section)

    plots = plots or {}

    def image(name: str, alt: str) -> str:
        if name not in plots:
            return ""
        rel = os.path.relpath(plots[name], readme_dir).replace(os.sep, "/")
        return f"\n\n![{alt}]({rel})"

    broken = [res["_error"] for res in results.values() if "_error" in res]
    accurate_choice = choice_section(results, "choice-accurate")
    writers_choice = choice_section(results, "choice-writers")
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
        writers_choice and "The default against a fine-tune that weighs the writers three times more (`--writers-weight 3`):\n\n"
        + writers_choice,
        "### Data",
        data_section(results),
    ]
    for name in ("cnn", "ensemble", "load", "classic"):  # figures the sections above do not show
        extra = leftover_section(name, results.get(name))
        if extra:
            parts += [f"More from `{name}.json`:", extra]
    known = (set(ORDER) | {"ensemble", "choice", "choice-accurate", "choice-writers", "reliability"} | set(readme_reading.FILES) | set(readme_pages.FILES)
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
    from benchmarks.readme_plots import write_plots

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
