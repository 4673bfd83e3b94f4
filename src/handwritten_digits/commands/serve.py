"""``digits serve``: the web app and REST API (FastAPI on uvicorn)."""

from __future__ import annotations

import importlib.util

HELP = "Serve the drawing page and the REST API (open http://HOST:PORT/; API docs at /docs)."
# uvicorn's HTTP protocol, as an import string (worker processes load it): ours with httptools, else h11 as is
HTTP_PROTOCOL = f"{__name__}:HeadDeadlineProtocol" if importlib.util.find_spec("httptools") else "auto"


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
    p.add_argument("--body-timeout", type=float, default=SUPPRESS,
                   help="seconds a request body has to arrive in full, else 408 "
                        f"(env DIGITS_BODY_TIMEOUT; default {d['body_timeout'].default:g})")
    p.add_argument("--idle-timeout", type=float, default=SUPPRESS,
                   help="seconds a connection may stay idle, or take to send a request's headers "
                        f"(env DIGITS_IDLE_TIMEOUT; default {d['idle_timeout'].default:g})")
    p.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"],
                   help="uvicorn log level")


def run(args) -> int:
    import os

    import uvicorn

    from handwritten_digits.runtime import Recognizer
    from handwritten_digits.server.app import create_app, tune_process
    from handwritten_digits.server.settings import Settings

    options = ("host", "port", "workers", "model", "feedback_db", "max_bytes", "threads", "reading_threads",
               "cors_origins", "body_timeout", "idle_timeout")
    settings = Settings.from_env(**{name: getattr(args, name, None) for name in options})
    # fail fast, with a one-line error, before uvicorn forks anything
    recognizer = Recognizer.load(settings.model, threads=settings.threads)
    print(f"digits: serving model '{recognizer.name}' on http://{settings.host}:{settings.port}/ "
          f"({settings.workers} worker{'s' if settings.workers > 1 else ''}; API docs at /docs)", flush=True)
    server = dict(host=settings.host, port=settings.port, log_level=args.log_level, access_log=False,
                  timeout_keep_alive=settings.idle_timeout, http=HTTP_PROTOCOL, log_config=log_config(args.log_level))
    if settings.workers == 1:
        app = create_app(settings, recognizer)
        tune_process(settings.threads)
        uvicorn.run(app, **server)
        return 0
    del recognizer  # each worker loads its own copy
    os.environ.update(settings.to_env())  # worker processes read their settings back from the environment
    config = uvicorn.Config("handwritten_digits.server.app:app_factory", factory=True, workers=settings.workers, **server)
    serve_workers(config)
    return 0


def log_config(level: str) -> dict:
    """uvicorn's logging set-up, plus the app's own logger (``handwritten_digits``) on the same handler.

    Without it the app's lines (a client hung up, a body timed out) went to Python's last-resort
    handler: INFO lines lost, the others without level or format.
    """
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["handwritten_digits"] = {"handlers": ["default"], "level": level.upper(), "propagate": False}
    return config


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


def __getattr__(name: str):
    """``HeadDeadlineProtocol`` is built on first use: uvicorn is imported for serving only, not by every command."""
    if name != "HeadDeadlineProtocol":
        raise AttributeError(name)
    globals()[name] = cls = _head_deadline_protocol()
    return cls


def _head_deadline_protocol() -> type:
    """uvicorn's httptools protocol, plus a deadline on each request's head.

    uvicorn times out a connection idle *between* requests (``timeout_keep_alive``), not one that never
    sends a request or never finishes its headers: the app is not called until then, so only the protocol
    can close it. The head must arrive within the same ``timeout_keep_alive`` (``Settings.idle_timeout``)
    from the connection's opening or the request's first byte; else one log line and the connection closed.
    """
    import logging

    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    log = logging.getLogger("handwritten_digits.server")

    class HeadDeadlineProtocol(HttpToolsProtocol):
        _head_timer = None

        def _arm(self) -> None:
            if self._head_timer is None:
                self._head_timer = self.loop.call_later(self.timeout_keep_alive, self._head_too_slow)

        def _disarm(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_too_slow(self) -> None:
            self._head_timer = None
            if not self.transport.is_closing():
                client = "%s:%d" % tuple(self.client) if self.client else "client"
                log.info("%s: no complete request head within %gs, connection closed", client, self.timeout_keep_alive)
                self.transport.close()

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self._arm()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._arm()

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def connection_lost(self, exc) -> None:
            self._disarm()
            super().connection_lost(exc)

    HeadDeadlineProtocol.__module__ = __name__
    return HeadDeadlineProtocol
