"""Evaluation reports: metrics.json, report.md and PNG plots (confusion matrix, mistakes, error–reject)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from handwritten_digits.fileio import atomic_write_json, atomic_write_text


def _pyplot():
    import matplotlib

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
    """The most confident mistakes first: true label, prediction and confidence under each digit."""
    plt = _pyplot()
    predicted = probs.argmax(axis=1)
    wrong = np.flatnonzero(predicted != labels)
    wrong = wrong[np.argsort(-probs[wrong, predicted[wrong]])][:limit]
    cols = 10
    rows = max(1, int(np.ceil(len(wrong) / cols)))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.1, rows * 1.35 + 0.4), dpi=120, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, wrong):
        ax.imshow(images[i], cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(f"{labels[i]}→{predicted[i]} {probs[i, predicted[i]]:.0%}", fontsize=8, color="#b00020")
    fig.suptitle(f"{title}: {len(np.flatnonzero(predicted != labels))} mistakes (true→predicted confidence)", fontsize=10)
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


def markdown(results: dict[str, dict], dataset: str) -> str:
    lines = [f"# Evaluation on {dataset}", "", "| model | n | accuracy | top-2 | log-loss | ECE | reject for 0.1% error |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, m in results.items():
        lines.append(f"| {name} | {m['n']:,} | {m['accuracy']:.2%} | {m['top2_accuracy']:.2%} | {m['log_loss']:.4f} | "
                     f"{m['ece']:.4f} | {m['error_reject']['reject_for_0.1%_error']:.1%} |")
    for name, m in results.items():
        pc = m["per_class"]
        lines += ["", f"## {name}: per class", "", "| digit | precision | recall | F1 | support |", "| ---: | ---: | ---: | ---: | ---: |"]
        lines += [f"| {k} | {pc['precision'][k]:.4f} | {pc['recall'][k]:.4f} | {pc['f1'][k]:.4f} | {int(pc['support'][k])} |" for k in range(10)]
        lines += ["", f"![confusion matrix](confusion_{name}.png)", "", f"![mistakes](mistakes_{name}.png)"]
    lines += ["", "![error–reject curve](error_reject.png)", ""]
    return "\n".join(lines)


def write_report(out_dir: str | Path, results: dict[str, dict], probs: dict[str, np.ndarray],
                 images: np.ndarray, labels: np.ndarray, dataset: str) -> Path:
    """Write metrics.json, report.md and the plots for each model into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, m in results.items():
        plot_confusion(np.asarray(m["confusion_matrix"]), f"{name} on {dataset}: {m['accuracy']:.2%}", out / f"confusion_{name}.png")
        plot_mistakes(images, labels, probs[name], name, out / f"mistakes_{name}.png")
    plot_error_reject({name: m["error_reject"] for name, m in results.items()}, out / "error_reject.png")
    atomic_write_json(out / "metrics.json", {"dataset": dataset, "models": results})
    atomic_write_text(out / "report.md", markdown(results, dataset))
    return out
