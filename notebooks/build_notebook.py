"""Build ``handwritten-digits-recognition.ipynb`` (outputs stripped) from the cells below.

The notebook is a guided tour of the package's public API; it holds no logic of its own, only calls
and the matplotlib code that shows their results. Edit the cells here and run::

    python notebooks/build_notebook.py
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

NOTEBOOK = Path(__file__).with_name("handwritten-digits-recognition.ipynb")

CELLS = [
    ("md", """
# Handwritten digit recognition: a guided tour

This notebook walks through the `handwritten_digits` package: the MNIST data, how any image is turned
into the 28×28 input a model expects, a scikit-learn baseline, the bundled CNN, its evaluation, reading
digits and numbers from photo-like images, and finally how to tune and serve models.

Everything here calls the package's public API; the notebook adds only plots. MNIST is read from
`$DIGITS_DATA_DIR` (or `~/.cache/handwritten-digits/mnist`; `digits data --download` fetches it).
"""),
    ("code", """
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Image, display

import handwritten_digits
from handwritten_digits.data import load_dataset, locate_mnist

%matplotlib inline
FIGURES = Path(tempfile.mkdtemp(prefix="digits-notebook-"))  # report plots are written here, then shown
print("handwritten_digits", handwritten_digits.__version__, "| MNIST in", locate_mnist())
"""),
    ("md", """
## 1. MNIST at a glance

MNIST has 60,000 training and 10,000 test digits, 28×28 grey levels, white ink on black. The package
holds out a stratified 5,000-image **validation** split of the training set: models are trained and
chosen on train/val only, and the test set gives final figures.
"""),
    ("code", """
train_x, train_y = load_dataset("train")
val_x, val_y = load_dataset("val")
test_x, test_y = load_dataset("test")
print(f"train {train_x.shape}, val {val_x.shape}, test {test_x.shape}; "
      f"{train_x.dtype} in [{train_x.min():.0f}, {train_x.max():.0f}]")

fig, axes = plt.subplots(4, 10, figsize=(10, 4.4))
for digit in range(10):
    for row, index in enumerate(np.flatnonzero(train_y == digit)[:4]):
        axes[row, digit].imshow(train_x[index], cmap="gray")
        axes[row, digit].axis("off")
    axes[0, digit].set_title(str(digit))
fig.suptitle("Four training examples of each digit")
plt.show()
"""),
    ("code", """
fig, ax = plt.subplots(figsize=(7, 3))
counts = np.bincount(train_y, minlength=10)
ax.bar(range(10), counts, color="#4c72b0")
ax.axhline(len(train_y) / 10, color="grey", ls="--", lw=1, label="perfectly balanced")
ax.set(xticks=range(10), xlabel="digit", ylabel="training images", title="Class balance (training split)")
ax.legend()
plt.show()
print("smallest class:", counts.argmin(), counts.min(), "| largest:", counts.argmax(), counts.max())
"""),
    ("md", """
## 2. Why and how images are normalised

A model only knows what MNIST looks like: the digit's longer side fitted into a 20×20 box, centred by
its centre of mass in a 28×28 frame, bright ink on black, strokes 2–3 px wide. A photo of a digit is
nothing like that: dark ink on bright paper, uneven light, noise, JPEG artefacts, the digit anywhere
and at any size. The reading stages (`handwritten_digits.reading`: decode → ink → segment → normalize)
find the ink (polarity, background, noise), crop it and rebuild the MNIST framing, so that every caller
(CLI, API, web page, training) feeds the same kind of input.

`synthetic` builds photo-like images from MNIST **test** digits, so we know the right answer.
"""),
    ("code", """
from handwritten_digits.reading.decode import load_image
from handwritten_digits.reading.ink import find_ink
from handwritten_digits.reading.normalize import prepare_single
from handwritten_digits.synthetic import make_singles

samples = make_singles(4, seed=3)
fig, axes = plt.subplots(3, 4, figsize=(10, 7.5))
for column, sample in enumerate(samples):
    digit = prepare_single(sample.image)
    axes[0, column].imshow(sample.image, cmap="gray", vmin=0, vmax=255)
    axes[0, column].set_title(f"photo-like '{sample.label}' {sample.image.shape[1]}×{sample.image.shape[0]}", fontsize=9)
    axes[1, column].imshow(find_ink(load_image(sample.image)).ink, cmap="gray", vmin=0, vmax=1)
    axes[1, column].set_title("ink map", fontsize=9)
    axes[2, column].imshow(digit.image, cmap="gray", vmin=0, vmax=1)
    axes[2, column].set_title("model input 28×28", fontsize=9)
for ax in axes.flat:
    ax.axis("off")
plt.tight_layout()
plt.show()
"""),
    ("md", """
## 3. A scikit-learn baseline

Classic models work on the 784 pixels as a flat vector. An RBF support vector machine on 50 PCA
components is a strong classic baseline; here it is fitted on a 5,000-image subset to keep it quick
(`digits train --model svm` fits it on everything and exports ONNX). It is scored on the validation split.
"""),
    ("code", """
import time

from handwritten_digits.training.classic import fit_classic

began = time.perf_counter()
svm = fit_classic("svm", train_x[:5000], train_y[:5000])
seconds = time.perf_counter() - began
svm_accuracy = (svm.predict(val_x.reshape(len(val_x), -1)) == val_y).mean()
print(f"SVM on 5,000 images: validation accuracy {svm_accuracy:.2%} (fitted in {seconds:.1f} s)")
print(svm)
"""),
    ("md", """
## 4. The bundled CNN

`Recognizer.load()` loads the bundled model: an ONNX file and its model card (architecture, training
settings, data checksums, metrics, the command that made it). Inference needs only ONNX Runtime.
"""),
    ("code", """
from handwritten_digits.runtime import Recognizer

recognizer = Recognizer.load()
card = recognizer.card
print("model:", recognizer.name, "| architecture:", card.get("architecture"))
print("validation metrics on its card:", card.get("metrics", {}).get("val"))
print("temperature (calibration):", round(recognizer.temperature, 3))
"""),
    ("md", """
## 5. Evaluation on the MNIST test set

The test set is used here only to report how good the model is, never to choose anything.
`evaluation.metrics.evaluate_probabilities` gives accuracy, calibration, per-class precision/recall/F1,
the confusion matrix and the error–reject curve; `evaluation.report` draws them.
"""),
    ("code", """
from handwritten_digits.evaluation import metrics as ev
from handwritten_digits.evaluation import report

probs = recognizer.predict_proba(test_x)
results = ev.evaluate_probabilities(test_y, probs)
print(f"test accuracy {results['accuracy']:.2%} ({int(results['error_rate'] * results['n'])} errors of {results['n']:,}), "
      f"top-2 {results['top2_accuracy']:.2%}, ECE {results['ece']:.4f}")
report.plot_confusion(np.asarray(results["confusion_matrix"]), f"{recognizer.name} on MNIST test", FIGURES / "confusion.png")
display(Image(filename=FIGURES / "confusion.png"))
"""),
    ("code", """
per_class = results["per_class"]
print("digit  precision  recall     F1   support")
for digit in range(10):
    print(f"{digit:>5}  {per_class['precision'][digit]:9.4f}  {per_class['recall'][digit]:6.4f}  "
          f"{per_class['f1'][digit]:6.4f}  {int(per_class['support'][digit]):7d}")
"""),
    ("md", """
The most confident mistakes: several are ambiguous even to a person, some have a wrong label.
"""),
    ("code", """
report.plot_mistakes(test_x, test_y, probs, recognizer.name, FIGURES / "mistakes.png", limit=30)
display(Image(filename=FIGURES / "mistakes.png"))
"""),
    ("md", """
**Error–reject curve.** Probabilities are calibrated, so the least confident digits are the likeliest
errors: rejecting them (for a person to check) lowers the error rate among the digits accepted.
"""),
    ("code", """
report.plot_error_reject({recognizer.name: results["error_reject"]}, FIGURES / "error_reject.png")
display(Image(filename=FIGURES / "error_reject.png"))
print(f"reject {results['error_reject']['reject_for_0.1%_error']:.1%} of the digits to get 0.1% error on the rest")
"""),
    ("md", """
## 6. Reading unseen images

A `Reader` drives the stages with the model: `reader.classify(image)` treats a whole image as one digit;
`reader.read(image)` finds every digit in it and reads them left to right as a number. Images can be
paths, bytes, PIL images or arrays.
"""),
    ("code", """
%matplotlib inline
# (evaluation.report switched pyplot to its file-only Agg backend: back to inline figures)
from handwritten_digits.reading.reader import Reader

reader = Reader(recognizer)
singles = make_singles(10, seed=11)
fig, axes = plt.subplots(1, 10, figsize=(12, 1.9))
for ax, sample in zip(axes, singles):
    result = reader.classify(sample.image)
    said = "none" if result is None else f"{result.digit} {result.confidence:.0%}"
    ax.imshow(sample.image, cmap="gray")
    ax.set_title(f"true {sample.label}\\nread {said}", fontsize=8, color="black" if result and str(result.digit) == sample.label else "#b00020")
    ax.axis("off")
plt.show()
"""),
    ("code", """
from handwritten_digits.synthetic import make_numbers

photo = Path(handwritten_digits.__file__).parent / "assets" / "samples" / "photo-number-417.jpg"
images = [(load_image(photo), "417 (bundled sample photo)")]
images += [(sample.image, sample.label) for sample in make_numbers(2, seed=5)]
fig, axes = plt.subplots(len(images), 1, figsize=(8, 2.6 * len(images)))
for ax, (image, truth) in zip(axes, images):
    result = reader.read(image)
    ax.imshow(image, cmap="gray")
    for d in result.digits:
        x0, y0, x1, y1 = d.box
        ax.add_patch(plt.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, color="#dd8452", lw=1.5))
        ax.text(x0, y0 - 2, f"{d.digit} {d.confidence:.0%}", color="#dd8452", fontsize=9)
    ax.set_title(f"true {truth} → read '{result.text}'", fontsize=10)
    ax.axis("off")
plt.tight_layout()
plt.show()
"""),
    ("md", """
`ReadResult.to_dict()` is the one JSON used everywhere: `digits predict --json`, the REST API and the page.
"""),
    ("code", """
import json

reading = reader.read(photo).to_dict()
for d in reading["digits"]:
    d["probabilities"] = [round(p, 3) for p in d["probabilities"]]
print(json.dumps(reading, indent=1)[:900])
"""),
    ("md", """
## 7. Tuning hyperparameters

`digits tune` searches a model's hyperparameters with Optuna (TPE sampling; poor trials are pruned
from the validation accuracy reported during training; the test set is never used). The study is kept
in a SQLite file under `--out`, so running the command again continues it. To tune on many machines,
give every worker the same PostgreSQL URL and study name:

```bash
digits tune --model cnn --trials 50 --epochs 3                      # one machine, runs/tune/study.db
digits tune --model cnn --trials 50 --storage postgresql://user:pass@db-host/tuning --study cnn-v2   # on each machine
digits train --config runs/tune/cnn/best_config.json                # train the best configuration
```

Here a tiny study on a logistic regression (a few seconds) shows what it writes:
"""),
    ("code", """
from handwritten_digits.cli import main as digits

tune_dir = Path(tempfile.mkdtemp(prefix="digits-tune-"))
digits(["tune", "--model", "logreg", "--trials", "4", "--limit", "2000", "--out", str(tune_dir), "--quiet"])
print((tune_dir / "logreg" / "best_config.json").read_text())
display(Image(filename=tune_dir / "logreg" / "history.png", width=560))
"""),
    ("md", """
## 8. Serving

```bash
digits serve                        # http://127.0.0.1:8000: drawing page + REST API (docs at /docs)
curl -F image=@photo.jpg http://127.0.0.1:8000/api/v1/recognize
```

The API answers with the same JSON as `ReadResult.to_dict()` above. `make run` sets up a fresh machine
and starts the server; `digits serve --help` lists its options (model, workers, threads, limits).
"""),
]


def build() -> nbformat.NotebookNode:
    nb = new_notebook()
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    for kind, text in CELLS:
        text = text.strip("\n")
        nb.cells.append(new_markdown_cell(text) if kind == "md" else new_code_cell(text))
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:02d}"  # stable ids: rebuilding gives the same file
    return nb


if __name__ == "__main__":
    notebook = build()
    nbformat.validate(notebook)
    NOTEBOOK.write_text(nbformat.writes(notebook) + "\n")
    print(f"wrote {NOTEBOOK} ({len(notebook.cells)} cells, outputs stripped)")
