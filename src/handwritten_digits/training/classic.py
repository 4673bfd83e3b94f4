"""Train a classic scikit-learn model and export it as ONNX with a model card."""

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


def fit_classic(name: str, images: np.ndarray, labels: np.ndarray, seed: int = 0, **params) -> Pipeline:
    """Fit pipeline ``name`` on (N, 28, 28) images in [0, 1]; ``params`` set pipeline params (``clf__C``)."""
    pipeline = make_pipeline(name, seed)
    if params:
        pipeline.set_params(**params)
    return pipeline.fit(np.asarray(images, dtype=np.float32).reshape(len(images), 784), labels)


def recognizer_for(pipeline: Pipeline, card: dict):
    """An in-memory :class:`Recognizer` for ``pipeline`` (through ONNX, exactly as it will be served)."""
    import onnxruntime as ort

    from handwritten_digits.runtime import Recognizer

    onnx_part, deskew = split_deskew(pipeline)
    data, kind = onnx_bytes(onnx_part)
    card.update(input={"shape": [784], "range": [0.0, 1.0], "deskew": deskew}, output="probabilities", output_kind=kind)
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    return Recognizer(session, card, Path("<memory>")), data


def train_from_args(args) -> int:
    """``digits train --model logreg|knn|forest|svm|best``."""
    from handwritten_digits.evaluation.calibration import expected_calibration_error, fit_temperature
    from handwritten_digits.training.loop import load_training_data

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    config = _Config(val_size=args.val_size)
    train, val, test, data_info = load_training_data(args, config)
    as_numpy = lambda pair: (pair[0].squeeze(1).numpy(), pair[1].numpy())  # noqa: E731
    (x, y), (xv, yv) = as_numpy(train), as_numpy(val)
    log(f"{args.model}: fitting on {len(y):,} images ...")
    began = time.perf_counter()
    pipeline = fit_classic(args.model, x, y, seed=args.seed)
    seconds = time.perf_counter() - began
    log(f"fitted in {seconds:.1f} s; exporting to ONNX and validating on {len(yv):,} images")
    card = modelcard.new_card(name=Path(args.out).name or args.model, kind="classic")
    recognizer, data = recognizer_for(pipeline, card)
    val_logits = recognizer.logits(xv)
    temperature = fit_temperature(val_logits, yv)
    recognizer.temperature = temperature
    val_probs = recognizer.predict_proba(xv)
    metrics = {"val": {"accuracy": float((val_probs.argmax(1) == yv).mean()), "n": len(yv),
                       "ece_before": expected_calibration_error(_softmax(val_logits), yv),
                       "ece_after": expected_calibration_error(val_probs, yv)}}
    if test is not None:  # final figure only: nothing above looked at it
        xt, yt = as_numpy(test)
        metrics["test"] = {"accuracy": float((recognizer.predict(xt) == yt).mean()), "n": len(yt)}
    card.update(
        temperature=temperature, metrics=metrics, data=data_info,
        architecture={"pipeline": [(name, type(step).__name__) for name, step in pipeline.steps],
                      "params": {k: _plain(v) for k, v in pipeline.get_params(deep=True).items() if "__" in k}},
        training={"model": args.model, "seed": args.seed, "val_size": args.val_size, "seconds": round(seconds, 2)},
        command="digits " + " ".join(sys.argv[1:]),
    )
    path = modelcard.save_model(data, card, Path(args.out) / "model.onnx")
    log(f"saved {path} (val accuracy {metrics['val']['accuracy']:.4%}"
        + (f", test {metrics['test']['accuracy']:.4%})" if "test" in metrics else ")"))
    if args.json:
        print(json.dumps(card | {"path": str(path)}, indent=2))
    return 0


class _Config:
    """The two settings ``load_training_data`` reads."""

    def __init__(self, val_size: int):
        if val_size < 1:
            raise DigitsError("--val-size must be at least 1: the calibration is fitted on validation images")
        self.val_size = val_size


def _softmax(z: np.ndarray) -> np.ndarray:
    from handwritten_digits.runtime import softmax

    return softmax(z)


def _plain(value):
    """JSON-safe rendering of a pipeline parameter."""
    return value if isinstance(value, (int, float, str, bool, type(None))) else repr(value)
