"""RapidOCR worker for ``benchmarks/bench_peers.py``: runs in ``.venv-peers`` (``make peers``), never in the
product's venv, so it imports only the standard library and ``rapidocr_onnxruntime``.

Reads image paths from standard input, one a line, and prints JSON lines: first the engine's versions,
then for each image ``{"path", "ms", "detections": [{"box": [[x, y] * 4], "text", "score"}]}`` (or
``"error"``). ``ms`` is the engine call alone, in this process, after the models are loaded.

    printf '%s\\n' a.png b.jpg | .venv-peers/bin/python benchmarks/peers_rapidocr.py --threads 1
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from importlib import metadata
from pathlib import Path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--threads", type=int, default=1, help="ONNX Runtime threads per model")
    args = parser.parse_args(argv)
    import rapidocr_onnxruntime
    from rapidocr_onnxruntime import RapidOCR

    engine = RapidOCR(intra_op_num_threads=args.threads, inter_op_num_threads=1)
    models = sorted(p.name for p in (Path(rapidocr_onnxruntime.__file__).parent / "models").glob("*.onnx"))
    print(json.dumps({"engine": {"rapidocr_onnxruntime": metadata.version("rapidocr-onnxruntime"),
                                 "onnxruntime": metadata.version("onnxruntime"), "models": models,
                                 "threads": args.threads}}), flush=True)
    for line in sys.stdin:
        path = line.rstrip("\n")
        if not path:
            continue
        try:
            start = time.perf_counter()
            result, _ = engine(path)
            ms = (time.perf_counter() - start) * 1000
            detections = [{"box": [[float(x), float(y)] for x, y in box], "text": text, "score": round(float(score), 4)}
                          for box, text, score in result or []]
            print(json.dumps({"path": path, "ms": round(ms, 2), "detections": detections}), flush=True)
        except Exception as exc:  # one unreadable image must not lose the others
            print(json.dumps({"path": path, "error": f"{type(exc).__name__}: {exc}"}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
