"""``digits serve``: the web app and REST API (FastAPI on uvicorn)."""

from __future__ import annotations

HELP = "Serve the drawing page and the REST API (open http://HOST:PORT/; API docs at /docs)."


def add_arguments(p) -> None:
    from argparse import SUPPRESS  # the help shows the real default (from Settings), not None

    from handwritten_digits.server.settings import Settings, default_feedback_db

    d = Settings.__dataclass_fields__
    p.add_argument("--host", default=SUPPRESS, help=f"interface to listen on (env DIGITS_HOST; default {d['host'].default})")
    p.add_argument("--port", type=int, default=SUPPRESS, help=f"TCP port (env DIGITS_PORT; default {d['port'].default})")
    p.add_argument("--workers", type=int, default=SUPPRESS,
                   help=f"worker processes, each with its own model copy (env DIGITS_WORKERS; default {d['workers'].default})")
    p.add_argument("--model", default=SUPPRESS,
                   help=f"bundled model name, .onnx file or folder (env DIGITS_MODEL; default {d['model'].default})")
    p.add_argument("--feedback-db", default=SUPPRESS,
                   help=f"SQLite file for corrections (env DIGITS_FEEDBACK_DB; default {default_feedback_db()})")
    p.add_argument("--max-bytes", type=int, default=SUPPRESS,
                   help=f"largest request body in bytes (env DIGITS_MAX_BYTES; default {d['max_bytes'].default})")
    p.add_argument("--threads", type=int, default=SUPPRESS,
                   help=f"ONNX Runtime and OpenCV threads per worker (env DIGITS_THREADS; default {d['threads'].default})")
    p.add_argument("--reading-threads", type=int, default=SUPPRESS,
                   help="threads per worker that read images, never the event loop "
                        f"(env DIGITS_READING_THREADS; default {d['reading_threads'].default})")
    p.add_argument("--cors-origin", action="append", default=SUPPRESS, dest="cors_origins",
                   help="allow this origin by CORS (repeatable; env DIGITS_CORS_ORIGINS, comma-separated; default: CORS off)")
    p.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"],
                   help="uvicorn log level")


def run(args) -> int:
    import os

    import uvicorn

    from handwritten_digits.runtime import Recognizer
    from handwritten_digits.server.app import create_app, tune_process
    from handwritten_digits.server.settings import Settings

    options = ("host", "port", "workers", "model", "feedback_db", "max_bytes", "threads", "reading_threads",
               "cors_origins")
    settings = Settings.from_env(**{name: getattr(args, name, None) for name in options})
    # fail fast, with a one-line error, before uvicorn forks anything
    recognizer = Recognizer.load(settings.model, threads=settings.threads)
    print(f"digits: serving model '{recognizer.name}' on http://{settings.host}:{settings.port}/ "
          f"({settings.workers} worker{'s' if settings.workers > 1 else ''}; API docs at /docs)", flush=True)
    if settings.workers == 1:
        app = create_app(settings, recognizer)
        tune_process(settings.threads)
        uvicorn.run(app, host=settings.host, port=settings.port, log_level=args.log_level, access_log=False)
        return 0
    del recognizer  # each worker loads its own copy
    os.environ.update(settings.to_env())  # worker processes read their settings back from the environment
    config = uvicorn.Config("handwritten_digits.server.app:app_factory", factory=True, host=settings.host,
                            port=settings.port, workers=settings.workers, log_level=args.log_level, access_log=False)
    serve_workers(config)
    return 0


def serve_workers(config) -> None:
    """``uvicorn.run`` for several workers, with TCP_NODELAY on the shared listening socket.

    uvicorn opens that socket with protocol 0, so asyncio does not turn Nagle's algorithm off on the
    connections the workers accept; responses (headers and body written separately) then stall on
    delayed ACKs, about 40 ms each. Accepted sockets inherit TCP_NODELAY from the listener.
    """
    import socket

    from uvicorn.supervisors import Multiprocess

    sock = config.bind_socket()
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        Multiprocess(config, sockets=[sock]).run()
    except KeyboardInterrupt:
        pass
