"""The README's plots drawn from the results files: test error by model, time to accuracy, serving latency."""

from __future__ import annotations

from pathlib import Path

from benchmarks.readme import _rows, pct
from benchmarks.readme_models import PUBLISHED


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
