"""``digits info``: a model's card."""

from __future__ import annotations

HELP = "Show a model's card: architecture, training, data checksums, metrics and the command that made it."


def add_arguments(p) -> None:
    p.add_argument("model", nargs="?", default="default", help="bundled name (default, accurate, default-int8), .onnx file or folder (default: default)")
    p.add_argument("--json", action="store_true", help="print the card as JSON")


def run(args) -> int:
    import json

    from handwritten_digits import modelcard

    path = modelcard.resolve(args.model)
    card = modelcard.read_card(path)
    if args.json:
        print(json.dumps(card | {"path": str(path)}, indent=2))
        return 0
    size = path.stat().st_size
    inp = card.get("input", {})
    rows = [
        ("name", f"{card.get('name')}  ({card.get('kind')}, {size / 1e6:.2f} MB)"),
        ("file", str(path)),
        ("architecture", _pairs(card.get("architecture", {}))),
        ("input", f"shape {inp.get('shape')}, range {inp.get('range')}, deskew {'yes' if inp.get('deskew') else 'no'}"),
        ("output", f"{card.get('output')} (temperature {float(card.get('temperature', 1.0)):.3f})"),
        ("classes", "0-9" + (f" and \"not a digit\" (answered from a probability of {card.get('not_digit_threshold', 0.5):.3f})"
                             if len(card.get("classes", range(10))) > 10 else "")),
        ("training", _pairs({k: v for k, v in card.get("training", {}).items() if k != "history"})),
    ]
    for split, m in card.get("metrics", {}).items():
        if split == "val_rejected":  # shares answered "not a digit", per validation source
            rows.append(("rejected", ", ".join(f"{k} {v:.2%}" for k, v in m.items())))
            continue
        extras = ", ".join(f"{k} {v:.4f}" for k, v in m.items() if k not in ("accuracy", "n") and isinstance(v, float))
        acc = m.get("accuracy")
        rows.append((f"{split} metrics", (f"accuracy {acc:.2%}" if isinstance(acc, (int, float)) else "accuracy ?")
                     + f" on {m.get('n', '?')} images" + (f"; {extras}" if extras else "")))
    for name, digest in card.get("data", {}).get("checksums", {}).items():
        rows.append(("data", f"{name} sha256 {digest}"))
    rows.append(("created", f"{card.get('created')} with handwritten-digits {card.get('package_version')}"))
    if card.get("command"):
        rows.append(("command", card["command"]))
    for key, value in rows:
        print(f"{key + ':':<16}{value}")
    return 0


def _pairs(d: dict) -> str:
    """``key=value`` pairs on one line; nested values stay compact JSON."""
    import json

    return ", ".join(f"{k}={v if isinstance(v, (str, int, float)) else json.dumps(v)}" for k, v in d.items()) or "-"
