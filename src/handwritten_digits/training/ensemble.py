"""One ONNX graph that runs several models and averages their calibrated probabilities."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from handwritten_digits import modelcard
from handwritten_digits.errors import DigitsError


def build_ensemble(members: list[Path], name: str = "ensemble") -> tuple[bytes, dict]:
    """ONNX bytes and card for the mean of ``softmax(logits_i / T_i)``; output ``logits`` = log of that mean."""
    import onnx
    from onnx import TensorProto, compose, helper, numpy_helper

    if len(members) < 2:
        raise DigitsError("an ensemble needs at least two models")
    cards = [modelcard.read_card(p) for p in members]
    shapes = {tuple(c["input"]["shape"]) for c in cards}
    if len(shapes) != 1 or any(c["input"].get("deskew") for c in cards):
        raise DigitsError("ensemble members must share one input shape and need no deskewing (use CNN models)")
    classes = cards[0].get("classes", list(range(10)))
    if any(c.get("classes", list(range(10))) != classes for c in cards):
        raise DigitsError("ensemble members must have the same classes (all with \"not a digit\", or none)")
    nodes, initializers, probs = [], [], []
    for i, (path, card) in enumerate(zip(members, cards)):
        member = compose.add_prefix(onnx.load(str(path)), f"m{i}_")
        graph = member.graph
        rename = {graph.input[0].name: "images"}
        for node in graph.node:
            node.input[:] = [rename.get(x, x) for x in node.input]
        nodes += list(graph.node)
        initializers += list(graph.initializer)
        out = f"m{i}_{card.get('output', 'logits')}"
        kind = card.get("output_kind", "probabilities" if card.get("output") == "probabilities" else "logits")
        if kind == "probabilities":
            nodes.append(helper.make_node("Log", [out], [f"m{i}_log"]))
            out = f"m{i}_log"
        initializers.append(numpy_helper.from_array(np.array(1.0 / card.get("temperature", 1.0), np.float32), f"m{i}_inv_t"))
        nodes += [helper.make_node("Mul", [out, f"m{i}_inv_t"], [f"m{i}_scaled"]),
                  helper.make_node("Softmax", [f"m{i}_scaled"], [f"m{i}_p"], axis=1)]
        probs.append(f"m{i}_p")
    initializers.append(numpy_helper.from_array(np.array(len(members), np.float32), "count"))
    nodes += [helper.make_node("Sum", probs, ["p_sum"]), helper.make_node("Div", ["p_sum", "count"], ["p_mean"]),
              helper.make_node("Log", ["p_mean"], ["logits"])]
    shape = ["batch", *cards[0]["input"]["shape"]]
    graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info("images", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", len(classes)])], initializers)
    opset = max(o.version for c in members for o in onnx.load(str(c)).opset_import if o.domain in ("", "ai.onnx"))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    onnx.checker.check_model(model)
    card = modelcard.new_card(
        name=name, kind="ensemble", input=cards[0]["input"], output="logits", classes=classes,
        architecture={"members": [{"path": str(p), "name": c.get("name"), "architecture": c.get("architecture"),
                                   "temperature": c.get("temperature", 1.0)} for p, c in zip(members, cards)]},
        data=cards[0].get("data", {}),
    )
    return model.SerializeToString(), card
