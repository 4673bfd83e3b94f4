"""scikit-learn pipeline -> ONNX. Steps skl2onnx cannot convert run in the runtime instead (deskew).

The graph takes ``images`` (N, 784) float32 in [0, 1] and has two outputs, ``label`` and
``probabilities`` (zipmap off, so the second is a plain (N, 10) tensor the runtime reads).
"""

from __future__ import annotations

import numpy as np
from sklearn.pipeline import Pipeline

from handwritten_digits.errors import DigitsError
from handwritten_digits.models.classic import Deskew

INPUT = "images"
OUTPUT = "probabilities"  # the name skl2onnx gives a classifier's scores; the card's ``output``


def split_deskew(pipeline: Pipeline) -> tuple[Pipeline, bool]:
    """The part of ``pipeline`` that goes into ONNX, and whether the runtime must deskew first.

    The runtime applies ``reading.normalize.deskew`` to its input, so a Deskew step can only come first.
    """
    later = [name for name, step in pipeline.steps[1:] if isinstance(step, Deskew)]
    if later:
        raise DigitsError(f"Deskew step '{later[0]}' must be the first step of the pipeline to export it")
    if isinstance(pipeline.steps[0][1], Deskew):
        if len(pipeline.steps) == 1:
            raise DigitsError("a pipeline of only a Deskew step has no classifier to export")
        return Pipeline(pipeline.steps[1:]), True
    return pipeline, False


def onnx_bytes(pipeline: Pipeline) -> tuple[bytes, str]:
    """Serialized ONNX graph of a fitted ``pipeline`` and what its ``probabilities`` output holds.

    Returns
    -------
    data : bytes
        The ONNX model (opset 17), checked with ``onnx.checker``.
    kind : str
        ``probabilities``, or ``scores`` for an SVC without Platt scaling: it emits one-vs-rest
        decision values there, which the runtime treats as logits and the card's calibration
        temperature turns into probabilities.
    """
    import warnings

    import onnx
    from skl2onnx import to_onnx

    from sklearn.neighbors import KNeighborsClassifier

    example = np.zeros((1, 784), dtype=np.float32)
    clf = pipeline.steps[-1][1]
    clf_options = {"zipmap": False}
    if isinstance(clf, KNeighborsClassifier):
        # onnxruntime's CDist kernel: about 11x the throughput of the default distance graph
        clf_options["optim"] = "cdist"
    try:
        with warnings.catch_warnings():  # skl2onnx reads SVC attributes scikit-learn marks deprecated
            warnings.simplefilter("ignore", FutureWarning)
            model = to_onnx(pipeline, example, options={id(clf): clf_options}, target_opset=17)
    except RuntimeError as exc:  # skl2onnx: "Unable to find a shape calculator/converter for ..."
        raise DigitsError(f"cannot export this pipeline to ONNX: {str(exc).splitlines()[0]}") from None
    _rename_input(model, INPUT)
    if OUTPUT not in [o.name for o in model.graph.output]:
        raise DigitsError(f"exported graph has no '{OUTPUT}' output ({', '.join(o.name for o in model.graph.output)})")
    _dedupe_opsets(model)
    onnx.checker.check_model(model)
    kind = "probabilities" if hasattr(clf, "predict_proba") else "scores"
    return model.SerializeToString(), kind


def _rename_input(model, new: str) -> None:
    old = model.graph.input[0].name
    model.graph.input[0].name = new
    for node in model.graph.node:
        node.input[:] = [new if name == old else name for name in node.input]


def _dedupe_opsets(model) -> None:
    """skl2onnx may list a domain twice; keep the highest version of each."""
    best: dict[str, int] = {}
    for opset in model.opset_import:
        best[opset.domain] = max(best.get(opset.domain, 0), opset.version)
    del model.opset_import[:]
    for domain, version in best.items():
        entry = model.opset_import.add()
        entry.domain, entry.version = domain, version
