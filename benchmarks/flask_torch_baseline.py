"""The comparison stack for ``bench_load``: a minimal Flask route that runs PyTorch eagerly per request.

This is the typical tutorial deployment: Flask's built-in threaded server, one process, the image
resized straight to 28x28 (no digit segmentation), ``model(x)`` under ``torch.no_grad()`` per request.
The network is engineer D's :func:`handwritten_digits.models.cnn.build_model` with the served
model's architecture (weights from a ``.pt``/safetensors file are not needed for timing: random init).

Run: ``python -m benchmarks.flask_torch_baseline --port 8001 --arch fast``
"""

from __future__ import annotations

import argparse
import io


def build_app(arch: str = "fast", threads: int | None = None):
    import numpy as np
    import torch
    from flask import Flask, jsonify, request
    from PIL import Image

    from handwritten_digits.models.cnn import build_model

    if threads:
        torch.set_num_threads(threads)
    model = build_model(arch).eval()
    app = Flask(__name__)

    @app.post("/predict")
    def predict():
        img = Image.open(io.BytesIO(request.get_data())).convert("L").resize((28, 28))
        x = 1.0 - torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0)  # ink bright on dark
        with torch.no_grad():
            probs = torch.softmax(model(x[None, None]), dim=1)[0]
        digit = int(probs.argmax())
        return jsonify({"text": str(digit), "digits": [{"digit": digit, "confidence": float(probs[digit]),
                                                         "probabilities": probs.tolist()}]})

    return app


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--host", default="127.0.0.1", help="interface (loopback only by design)")
    p.add_argument("--port", type=int, default=8001, help="TCP port")
    p.add_argument("--arch", default="fast", help="architecture name from handwritten_digits.models.cnn")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own, all cores)")
    args = p.parse_args(argv)
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log: it would dominate the timing
    build_app(args.arch, args.threads).run(host=args.host, port=args.port, threaded=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
