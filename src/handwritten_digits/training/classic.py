"""Train a classic scikit-learn model and export it as ONNX with a model card.

No torch here: classic training needs only NumPy, scikit-learn and skl2onnx.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.pipeline import Pipeline

from handwritten_digits import modelcard
from handwritten_digits.errors import DigitsError
from handwritten_digits.models.classic import make_pipeline
from handwritten_digits.training.sklearn_onnx import onnx_bytes, split_deskew


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _flatten(images: np.ndarray) -> np.ndarray:
    x = np.asarray(images, dtype=np.float32)
    if x.ndim == 3 and x.shape[1:] == (28, 28):
        return x.reshape(len(x), 784)
    if x.ndim == 2 and x.shape[1] == 784:
        return x
    raise DigitsError(f"expected images of shape (N, 28, 28) or (N, 784), got {x.shape}")


def fit_classic(name: str, images: np.ndarray, labels: np.ndarray, seed: int = 0, progress: bool = False,
                **params) -> Pipeline:
    """Fit classic pipeline ``name`` on images in [0, 1].

    Parameters
    ----------
    name : str
        ``logreg``, ``knn``, ``forest``, ``svm`` or ``best``.
    images : ndarray
        (N, 28, 28) or flattened (N, 784) float images in [0, 1], ink bright.
    labels : ndarray
        (N,) integer classes 0-9.
    seed : int
        Random state of every randomised step.
    progress : bool
        Print each stage and its duration to stderr (scikit-learn has no progress hook inside a fit).
    **params
        Pipeline parameters to set first, e.g. ``clf__C=10`` (for the tuner).

    Returns
    -------
    Pipeline
        The fitted pipeline; it takes flattened (N, 784) input.
    """
    x = _flatten(images)
    y = np.asarray(labels)
    if len(y) != len(x):
        raise DigitsError(f"{len(x)} images but {len(y)} labels")
    if len(np.unique(y)) < 2:
        raise DigitsError("training needs images of at least two classes")
    try:
        pipeline = make_pipeline(name, seed)
        if params:
            pipeline.set_params(**params)
    except ValueError as exc:  # unknown model or parameter name
        raise DigitsError(str(exc).splitlines()[0]) from None
    if not progress:
        return pipeline.fit(x, y)
    # Pipeline.fit's own verbose output goes to stdout, which --json keeps for the card
    for step, transformer in pipeline.steps[:-1]:
        began = time.perf_counter()
        _log(f"  {step}: fitting {type(transformer).__name__} on {len(x):,} images ...")
        x = transformer.fit_transform(x, y)
        _log(f"  {step}: done in {time.perf_counter() - began:.1f} s")
    step, estimator = pipeline.steps[-1]
    began = time.perf_counter()
    _log(f"  {step}: fitting {type(estimator).__name__} on {x.shape[0]:,} x {x.shape[1]} features ...")
    estimator.fit(x, y)
    _log(f"  {step}: done in {time.perf_counter() - began:.1f} s")
    return pipeline


def export_classic(pipeline: Pipeline, card: dict):
    """ONNX for ``pipeline`` and an in-memory :class:`Recognizer` on it, exactly as it will be served.

    Fills the card's ``input``/``output``/``output_kind``. Returns ``(recognizer, onnx_bytes)``.
    """
    import onnxruntime as ort

    from handwritten_digits.runtime import Recognizer

    onnx_part, deskew = split_deskew(pipeline)
    data, kind = onnx_bytes(onnx_part)
    card.update(input={"shape": [784], "range": [0.0, 1.0], "deskew": deskew}, output="probabilities", output_kind=kind)
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    return Recognizer(session, card, Path("<memory>")), data


recognizer_for = export_classic  # the older name


def load_data(args) -> tuple[tuple, tuple, tuple | None, dict]:
    """``(train, val, test or None, data description)`` for ``--data``, each an (images, labels) pair."""
    from handwritten_digits.data import load_dataset, mnist_checksums, train_val_split

    if args.val_size < 1:
        raise DigitsError("--val-size must be at least 1: validation accuracy and calibration need it")
    if args.data == "mnist":
        train = load_dataset("train", args.data_dir, args.val_size)
        val = load_dataset("val", args.data_dir, args.val_size)
        test = load_dataset("test", args.data_dir)
        info = {"dataset": "mnist", "checksums": mnist_checksums(args.data_dir), "val_size": args.val_size}
    elif args.data.startswith("folder:"):
        from handwritten_digits.data.folder import load_folder

        images, labels = load_folder(args.data[len("folder:"):])
        val_size = min(args.val_size, len(labels) // 5)
        if val_size < 1:
            raise DigitsError(f"{args.data}: {len(labels)} images are too few to hold out a validation set")
        tr, va = train_val_split(labels, val_size, seed=0)
        train, val, test = (images[tr], labels[tr]), (images[va], labels[va]), None
        info = {"dataset": args.data, "images": int(len(labels)), "val_size": int(val_size)}
    else:
        raise DigitsError(f"unknown --data '{args.data}' (mnist or folder:PATH)")
    limit = 1000 if args.dry_run else args.limit
    if limit is not None:
        if limit < 10:
            raise DigitsError(f"--limit {limit} is too small (at least 10 images)")
        train = (train[0][:limit], train[1][:limit])
        val = (val[0][: max(256, limit // 10)], val[1][: max(256, limit // 10)])
        test = (test[0][:1000], test[1][:1000]) if test is not None else None
        info["limit"] = limit
    return train, val, test, info


def train_from_args(args) -> int:
    """``digits train --model logreg|knn|forest|svm|best``: fit, validate, test, save ONNX + card."""
    from handwritten_digits.evaluation.calibration import expected_calibration_error, fit_temperature
    from handwritten_digits.runtime import in_batches, softmax

    out = Path(args.out)
    target = out if out.suffix == ".onnx" else out / "model.onnx"
    (x, y), (xv, yv), test, data_info = load_data(args)
    _log(f"{args.model}: fitting on {len(y):,} images (validation {len(yv):,}) ...")
    began = time.perf_counter()
    params = _load_params(args.config)
    pipeline = fit_classic(args.model, x, y, seed=args.seed, progress=True, **params)
    seconds = time.perf_counter() - began
    _log(f"fitted in {seconds:.1f} s; exporting to ONNX and validating")
    card = modelcard.new_card(name=target.stem if target.stem != "model" else args.model, kind="classic")
    recognizer, data = export_classic(pipeline, card)
    val_logits = in_batches(recognizer.logits, xv)
    temperature = fit_temperature(val_logits, yv)  # calibrated on validation, never on test
    recognizer.temperature = temperature
    val_probs = in_batches(recognizer.predict_proba, xv)
    metrics = {"val": {"accuracy": float((val_probs.argmax(1) == yv).mean()), "n": int(len(yv)),
                       "ece_before": expected_calibration_error(softmax(val_logits), yv),
                       "ece_after": expected_calibration_error(val_probs, yv)}}
    if test is not None:  # the final figure: nothing above looked at it
        xt, yt = test
        metrics["test"] = {"accuracy": float((in_batches(recognizer.predict, xt) == yt).mean()), "n": int(len(yt))}
    card.update(
        temperature=temperature, metrics=metrics, data=data_info,
        architecture={"pipeline": [[name, type(step).__name__] for name, step in pipeline.steps],
                      "params": {k: _plain(v) for k, v in pipeline.get_params(deep=True).items() if "__" in k}},
        training={"model": args.model, "config": params, "data": args.data, "seed": args.seed, "val_size": args.val_size,
                  "limit": args.limit, "train_images": int(len(y)), "seconds": round(seconds, 2)},
        command=_command(args),
    )
    path = modelcard.save_model(data, card, target)  # only now, after everything succeeded: atomic
    _log(f"saved {path} (val accuracy {metrics['val']['accuracy']:.4%}"
         + (f", test {metrics['test']['accuracy']:.4%})" if "test" in metrics else ")"))
    if args.json:
        print(json.dumps(card | {"path": str(path)}, indent=2))
    return 0


def _command(args) -> str:
    """The ``digits train`` command line that reproduces this model (rebuilt from the parsed options)."""
    import shlex

    parts = ["digits", "train", "--model", args.model]
    for flag, value, default in (("--data", args.data, "mnist"), ("--data-dir", args.data_dir, None),
                                 ("--val-size", args.val_size, 5000), ("--limit", args.limit, None),
                                 ("--seed", args.seed, 0), ("--out", args.out, None)):
        if value != default:
            parts += [flag, str(value)]
    if args.dry_run:
        parts.append("--dry-run")
    return " ".join(shlex.quote(part) for part in parts)


def _plain(value):
    """JSON-safe rendering of a pipeline parameter."""
    return value if isinstance(value, (int, float, str, bool, type(None))) else repr(value)


def _load_params(path) -> dict:
    """Pipeline parameters (``{"clf__C": 5.0, ...}``) from a ``--config`` JSON file, e.g. ``digits tune``'s."""
    from handwritten_digits.training.config import read_config_file

    if not path:
        return {}
    # invalid names fail in fit_classic with a one-line error
    return read_config_file(path, expected="a JSON object of pipeline parameters")
