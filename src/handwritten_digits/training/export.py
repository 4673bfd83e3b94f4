"""Export a trained network to ONNX, with a model card the runtime and `digits info` read."""

from __future__ import annotations

import io
import warnings

import torch

from handwritten_digits import modelcard


def onnx_bytes(model: torch.nn.Module, opset: int = 17) -> bytes:
    """The network as ONNX: input ``images`` (N, 1, 28, 28) in [0, 1], output ``logits`` (N, 10)."""
    model = model.eval()
    example = torch.rand(2, 1, 28, 28)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model, (example,), buffer, input_names=["images"], output_names=["logits"],
            dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}}, opset_version=opset, dynamo=False,
        )
    return buffer.getvalue()


def export_model(model: torch.nn.Module, out, **card_fields) -> "modelcard.Path":
    """Write ``out`` (.onnx) and its card; ``card_fields`` fill the card (name, architecture, metrics, ...)."""
    card = modelcard.new_card(**{"kind": "cnn", "input": {"shape": [1, 28, 28], "range": [0.0, 1.0], "deskew": False},
                                 "output": "logits", **card_fields})
    return modelcard.save_model(onnx_bytes(model), card, out)
