"""scikit-learn pipeline -> ONNX. Steps skl2onnx cannot convert run in the runtime instead (deskew)."""

from __future__ import annotations

import numpy as np
from sklearn.pipeline import Pipeline

from handwritten_digits.models.classic import Deskew


def split_deskew(pipeline: Pipeline) -> tuple[Pipeline, bool]:
    """The part of ``pipeline`` that goes into ONNX, and whether the runtime must deskew first."""
    if isinstance(pipeline.steps[0][1], Deskew):
        return Pipeline(pipeline.steps[1:]), True
    return pipeline, False


def onnx_bytes(pipeline: Pipeline) -> tuple[bytes, str]:
    """ONNX graph (input ``images`` (N, 784) float32) and what its ``probabilities`` output holds.

    An SVC without Platt scaling emits one-vs-rest decision scores there: the runtime treats them as
    logits and the calibration temperature makes them probabilities.
    """
    import warnings

    from skl2onnx import to_onnx

    example = np.zeros((1, 784), dtype=np.float32)
    with warnings.catch_warnings():  # skl2onnx reads SVC attributes scikit-learn marks deprecated
        warnings.simplefilter("ignore", FutureWarning)
        model = to_onnx(pipeline, example, options={"zipmap": False}, target_opset=17)
    model.graph.input[0].name = _rename(model, model.graph.input[0].name, "images")
    clf = pipeline.steps[-1][1]
    kind = "probabilities" if hasattr(clf, "predict_proba") else "scores"
    return model.SerializeToString(), kind


def _rename(model, old: str, new: str) -> str:
    for node in model.graph.node:
        node.input[:] = [new if name == old else name for name in node.input]
    return new
