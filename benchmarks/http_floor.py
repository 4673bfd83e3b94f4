"""The HTTP floor of the load benchmark: ``digits serve``'s stack and route, doing no recognition.

The route reads the request body and answers a fixed JSON of the recognize route's shape, on the
same FastAPI + uvicorn workers (same listening socket set-up), so the CPU it spends per request is
what HTTP alone costs. ``bench_load`` runs it with the same load generator as the real server.

    python -m benchmarks.http_floor --port 8001 --workers 2
"""

from __future__ import annotations

import argparse

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

app = FastAPI(title="HTTP floor")
EMPTY = {"text": "", "digits": [], "lines": [], "marks": [], "limits": [], "height": 0, "width": 0}


@app.post("/api/v1/recognize")
async def recognize(request: Request):
    await request.body()
    return JSONResponse(EMPTY)


@app.get("/readyz")
async def readyz():
    return {"status": "ready"}


def main(argv=None) -> int:
    import uvicorn

    from handwritten_digits.commands.serve import serve_workers

    p = argparse.ArgumentParser(description="digits serve's HTTP stack with no work behind the route.",
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    p.add_argument("--port", type=int, default=8001, help="TCP port")
    p.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    args = p.parse_args(argv)
    config = uvicorn.Config("benchmarks.http_floor:app", host=args.host, port=args.port, workers=args.workers,
                            log_level="warning", access_log=False)
    serve_workers(config)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
