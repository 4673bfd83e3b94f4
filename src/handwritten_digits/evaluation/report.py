"""Evaluation reports: metrics.json, report.md and PNG plots (confusion matrix, mistakes, error–reject)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from handwritten_digits.fileio import atomic_write_json, atomic_write_text


def _pyplot():
    import sys

    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:  # headless by default; keep a notebook's inline backend
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_confusion(cm: np.ndarray, title: str, path: Path) -> None:
    plt = _pyplot()
    cm = np.asarray(cm)
    fig, ax = plt.subplots(figsize=(6.4, 5.6), dpi=120)
    # colour by the share of each true class, so off-diagonal errors stay visible beside ~1,000 hits
    share = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    im = ax.imshow(np.sqrt(share), cmap="Blues", vmin=0, vmax=1)
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            if cm[i, j]:
                ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if share[i, j] > 0.5 else ("#b00020" if i != j else "black"))
    ax.set(xticks=range(10), yticks=range(10), xlabel="predicted", ylabel="true", title=title)
    fig.colorbar(im, ax=ax, fraction=0.046, label="√ share of true class")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_mistakes(images: np.ndarray, labels: np.ndarray, probs: np.ndarray, title: str, path: Path, limit: int = 40) -> None:
    """The most confident mistakes first: true label, prediction and confidence above each digit.

    Drawn as one mosaic image on one axes: dozens of subplots take seconds each to lay out.
    """
    plt = _pyplot()
    predicted = probs.argmax(axis=1)
    all_wrong = np.flatnonzero(predicted != labels)
    wrong = all_wrong[np.argsort(-probs[all_wrong, predicted[all_wrong]], kind="stable")][:limit]
    cols, tile, pad, caption = 10, 28, 4, 12  # pixels: digit, gap, room for the caption above it
    rows = max(1, int(np.ceil(len(wrong) / cols)))
    step_x, step_y = tile + pad, tile + pad + caption
    mosaic = np.zeros((rows * step_y, cols * step_x))
    for n, i in enumerate(wrong):
        r, c = divmod(n, cols)
        mosaic[r * step_y + caption : r * step_y + caption + tile, c * step_x : c * step_x + tile] = images[i]
    fig, ax = plt.subplots(figsize=(cols * 1.05, rows * 1.45 + 0.5), dpi=120)
    ax.imshow(mosaic, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    for n, i in enumerate(wrong):
        r, c = divmod(n, cols)
        ax.text(c * step_x + tile / 2, r * step_y + caption - 2, f"{labels[i]}→{predicted[i]} {probs[i, predicted[i]]:.0%}",
                ha="center", va="bottom", fontsize=8, color="#b00020")
    if not len(wrong):
        ax.text(cols * step_x / 2, step_y / 2, "no mistakes", ha="center", va="center", fontsize=12, color="#2e7d32")
    ax.axis("off")
    ax.set_title(f"{title}: {len(all_wrong)} mistakes, most confident first (true→predicted confidence)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_error_reject(curves: dict[str, dict], path: Path) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    for name, curve in curves.items():
        err = np.maximum(np.asarray(curve["error"]) * 100, 1e-3)
        ax.plot(np.asarray(curve["reject"]) * 100, err, label=f"{name} (0.1% error at {curve['reject_for_0.1%_error']:.1%} rejected)")
    ax.axhline(0.1, color="grey", lw=0.8, ls="--")
    ax.set(yscale="log", xlabel="rejected, least confident first (%)", ylabel="error among accepted (%)",
           title="Error–reject curve", xlim=(0, 30))
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_reliability(bins_by_model: dict[str, dict], path: Path) -> None:
    """Accuracy against mean confidence per bin; the diagonal is perfect calibration."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.2, 5.0), dpi=120)
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--", label="perfectly calibrated")
    for name, rel in bins_by_model.items():
        pts = [(c, a, n) for c, a, n in zip(rel["confidence"], rel["accuracy"], rel["count"]) if n]
        conf, acc, count = (np.array(v, dtype=float) for v in zip(*pts))
        sizes = 12 + 120 * np.sqrt(count / count.max())  # marker area shows how many digits a bin holds
        line, = ax.plot(conf, acc, lw=1.2, label=name)
        ax.scatter(conf, acc, s=sizes, color=line.get_color(), alpha=0.7, edgecolors="white", linewidths=0.5)
    ax.set(xlim=(-0.02, 1.03), ylim=(-0.02, 1.03), xlabel="mean confidence in bin", ylabel="accuracy in bin",
           title="Reliability (15 bins; marker size = digits in bin)")
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def markdown(results: dict[str, dict], dataset: str) -> str:
    lines = [f"# Evaluation on {dataset}", "", "| model | n | accuracy | macro F1 | top-2 | log-loss | ECE | reject for 0.1% error |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, m in results.items():
        lines.append(f"| {name} | {m['n']:,} | {m['accuracy']:.2%} | {m['macro_f1']:.4f} | {m['top2_accuracy']:.2%} | {m['log_loss']:.4f} | "
                     f"{m['ece']:.4f} | {m['error_reject']['reject_for_0.1%_error']:.1%} |")
    for name, m in results.items():
        pc = m["per_class"]
        lines += ["", f"## {name}: per class", "", "| digit | precision | recall | F1 | support |", "| ---: | ---: | ---: | ---: | ---: |"]
        lines += [f"| {k} | {pc['precision'][k]:.4f} | {pc['recall'][k]:.4f} | {pc['f1'][k]:.4f} | {int(pc['support'][k])} |" for k in range(10)]
        lines += ["", f"![confusion matrix](confusion_{name}.png)", "", f"![mistakes](mistakes_{name}.png)"]
    lines += ["", "## Error–reject and calibration", "", "![error–reject curve](error_reject.png)", "",
              "![reliability diagram](reliability.png)", ""]
    return "\n".join(lines)


def write_report(out_dir: str | Path, results: dict[str, dict], probs: dict[str, np.ndarray],
                 images: np.ndarray, labels: np.ndarray, dataset: str) -> Path:
    """Write metrics.json, report.md and the PNG plots into ``out_dir``.

    Parameters
    ----------
    out_dir : path
        Created if missing.
    results : dict
        Model name -> metrics from :func:`~handwritten_digits.evaluation.metrics.evaluate_probabilities`.
    probs : dict
        Model name -> (N, 10) probabilities (for the gallery of mistakes).
    images, labels : arrays
        The (N, 28, 28) images in [0, 1] and their true classes.
    dataset : str
        Shown in titles.

    Returns
    -------
    Path
        ``out_dir``. Files: ``metrics.json``, ``report.md``, ``confusion_NAME.png``, ``mistakes_NAME.png``,
        ``error_reject.png`` and ``reliability.png``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, m in results.items():
        plot_confusion(np.asarray(m["confusion_matrix"]), f"{name} on {dataset}: {m['accuracy']:.2%}", out / f"confusion_{name}.png")
        plot_mistakes(images, labels, probs[name], name, out / f"mistakes_{name}.png")
    plot_error_reject({name: m["error_reject"] for name, m in results.items()}, out / "error_reject.png")
    plot_reliability({name: m["reliability"] for name, m in results.items()}, out / "reliability.png")
    atomic_write_json(out / "metrics.json", {"dataset": dataset, "models": results})
    atomic_write_text(out / "report.md", markdown(results, dataset))
    return out
