"""``digits info``: a model's card."""

from __future__ import annotations

HELP = "Show a model's card: architecture, training, data checksums, metrics and the command that made it."


def add_arguments(p) -> None:
    p.add_argument("model", nargs="?", default="default", help="bundled name (default, accurate), .onnx file or folder")
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
    print(f"{card.get('name')}  ({card.get('kind')}, {size / 1e6:.2f} MB)  {path}")
    arch = card.get("architecture", {})
    print(f"architecture: {json.dumps(arch)[:300]}")
    print(f"input: {card['input']}  output: {card.get('output')}  temperature: {card.get('temperature', 1.0):.3f}")
    for split, m in card.get("metrics", {}).items():
        extras = ", ".join(f"{k} {v:.4f}" for k, v in m.items() if k not in ("accuracy", "n") and isinstance(v, float))
        print(f"{split}: accuracy {m.get('accuracy', float('nan')):.4%} on {m.get('n', '?')} images" + (f" ({extras})" if extras else ""))
    training = {k: v for k, v in card.get("training", {}).items() if k != "history"}
    print(f"training: {json.dumps(training)}")
    for name, digest in card.get("data", {}).get("checksums", {}).items():
        print(f"data: {name} sha256 {digest}")
    print(f"created {card.get('created')} with handwritten-digits {card.get('package_version')}")
    if card.get("command"):
        print(f"command: {card['command']}")
    return 0
